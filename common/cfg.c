/* cfg: being written. */
typedef int mdf_cfg_placeholder_t;
