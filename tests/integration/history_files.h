/*
 * history_files: two daily price files as public data sets have them, for the
 * tests of proto/csv.c, the csv provider and the history_files integration
 * test, and a helper writing a gzip file.
 *
 * s_daily has no symbol column and a date alone (2024-01-02 ...);
 * s_newest_first has its own names (Date, "Adj. Close*"), dates like
 * 19-Sep-03, CRLF line ends and its rows newest first (19 ... 16 Sep 2003).
 */
#ifndef TESTS_HISTORY_FILES_H
#define TESTS_HISTORY_FILES_H

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *const s_daily = "date,open,high,low,close,adjclose,volume\n"
                                   "2024-01-02,187.15,188.44,183.89,185.64,184.94,82488700\n"
                                   "2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500\n"
                                   "2024-01-04,182.15,183.09,180.88,181.91,181.22,71983600\n";
#define HISTORY_DAILY_FIRST_S 1704153600LL /* 2024-01-02T00:00:00Z */

static const char *const s_newest_first = "Date,Open,High,Low,Close,Volume,Adj. Close*\r\n"
                                          "19-Sep-03,29.76,29.97,29.52,29.96,92433800,29.31\r\n"
                                          "18-Sep-03,28.49,29.51,28.42,29.50,67268096,28.86\r\n"
                                          "17-Sep-03,28.76,28.95,28.47,28.50,47221600,27.88\r\n"
                                          "16-Sep-03,28.41,28.95,28.32,28.90,52060600,28.27\r\n";
#define HISTORY_NEWEST_FIRST_OLDEST_S 1063670400LL /* 2003-09-16T00:00:00Z */

/* Write content gzip-compressed to the open descriptor fd (which it closes).
 * 0 or -1. */
static inline int
h_gz_write_fd (int fd, const char *content)
{
    gzFile gz = gzdopen (fd, "wb");
    if (!gz)
        return -1;
    int n = gzwrite (gz, content, (unsigned)strlen (content));
    return gzclose (gz) == Z_OK && n == (int)strlen (content) ? 0 : -1;
}

#endif
