/* being written */
typedef int h_placeholder_t;
