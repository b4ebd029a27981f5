/* log: being written. */
typedef int mdf_log_placeholder_t;
