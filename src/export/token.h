/*
 * token.h
 *		HMAC-signed, expiring download tokens of exports.
 */
#ifndef WIB_EXPORT_TOKEN_H
#define WIB_EXPORT_TOKEN_H

#endif							/* WIB_EXPORT_TOKEN_H */
