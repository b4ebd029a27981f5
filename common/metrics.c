/* metrics: being written. */
typedef int mdf_metrics_placeholder_t;
