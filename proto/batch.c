/* batch: being written. */
typedef int mdf_batch_placeholder_t;
