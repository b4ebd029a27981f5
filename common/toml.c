/* toml: being written. */
typedef int mdf_toml_placeholder_t;
