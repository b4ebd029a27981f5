/* proto: being written. */
typedef int mdf_proto_placeholder_t;
