/*
 * config-reference: print the configuration reference of md-store and
 * md-pipeline as Markdown, from the same settings tables the services load
 * their TOML with.  The README's "Configuration reference" section is this
 * program's output (tests/docs_check.sh fails when they differ), so the
 * documented keys, defaults, ranges and env names cannot drift from the code.
 *
 *   build/tools/config-reference > /tmp/ref.md
 */
#include <stdio.h>

#include "common/cfg.h"
#include "pipeline/settings.h"
#include "store/settings.h"

int
main (void)
{
    puts ("### md-store (`store.toml`, environment `MDS_<SECTION>_<KEY>`)\n");
    mdf_cfg_print_reference (store_settings_table, store_settings_count, "MDS", stdout);
    puts ("\n### md-pipeline (`pipeline.toml`, environment `MDP_<SECTION>_<KEY>`)\n");
    mdf_cfg_print_reference (pipeline_entries, pipeline_entries_n, "MDP", stdout);
    puts ("\n#### `[[providers]]` (one table per provider; no environment overrides)\n");
    mdf_cfg_print_reference (provider_entries, provider_entries_n, NULL, stdout);
    return 0;
}
