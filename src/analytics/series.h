/*
 * series.h
 *		Reading a float8[] argument as a series with missing points.
 */
#ifndef WIB_ANALYTICS_SERIES_H
#define WIB_ANALYTICS_SERIES_H

#include "utils/array.h"

extern int	series_read(ArrayType *arr, const char *field, double **values, bool **missing);

#endif							/* WIB_ANALYTICS_SERIES_H */
