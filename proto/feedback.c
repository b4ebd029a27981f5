/* feedback: being written. */
typedef int mdf_feedback_placeholder_t;
