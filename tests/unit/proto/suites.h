/* The TCases of the proto suite, one file each. */
#ifndef MDF_TEST_SUITES_H
#define MDF_TEST_SUITES_H

#include <check.h>

TCase *feedback_tcase (void);
TCase *batch_tcase (void);
TCase *ack_tcase (void);
TCase *robust_tcase (void);

#endif
