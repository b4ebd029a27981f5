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
    mdf_cfg_print_schema_reference (&store_settings_schema, "store.toml", stdout);
    puts ("");
    mdf_cfg_print_schema_reference (&pipeline_schema, "pipeline.toml", stdout);
    return 0;
}
