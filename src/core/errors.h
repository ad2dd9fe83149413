/*
 * errors.h
 *		The SQLSTATEs wib raises of its own, listed with their meaning in docs/errors.md.
 *
 * Class "WB" is wib's.  Invalid input uses the standard 22023 and a missing row
 * the standard P0002, so applications can branch on those as for any function.
 */
#ifndef WIB_ERRORS_H
#define WIB_ERRORS_H

#include "utils/elog.h"

#define ERRCODE_WIB_FEATURE_NOT_IN_PLAN		MAKE_SQLSTATE('W','B','0','0','1')
#define ERRCODE_WIB_PLAN_LIMIT_REACHED		MAKE_SQLSTATE('W','B','0','0','2')
#define ERRCODE_WIB_RATE_LIMITED			MAKE_SQLSTATE('W','B','0','0','3')
#define ERRCODE_WIB_IDEMPOTENCY_CONFLICT	MAKE_SQLSTATE('W','B','0','0','4')
#define ERRCODE_WIB_NO_TENANT_CONTEXT		MAKE_SQLSTATE('W','B','0','0','5')
#define ERRCODE_WIB_NOT_PRELOADED			MAKE_SQLSTATE('W','B','0','0','6')
#define ERRCODE_WIB_SIGNATURE_INVALID		MAKE_SQLSTATE('W','B','0','0','7')
#define ERRCODE_WIB_RESOURCE_EXHAUSTED		MAKE_SQLSTATE('W','B','0','0','8')
/* Secrets and tokens (src/crypto/): messages name the context, never the data. */
#define ERRCODE_WIB_VAULT_DECRYPT_FAILED	MAKE_SQLSTATE('W','B','0','0','9')
#define ERRCODE_WIB_TOKEN_INVALID			MAKE_SQLSTATE('W','B','0','1','0')
#define ERRCODE_WIB_TOKEN_EXPIRED			MAKE_SQLSTATE('W','B','0','1','1')

/* Webhooks (WB1xx) */
#define ERRCODE_WIB_WEBHOOK_INACTIVE		MAKE_SQLSTATE('W','B','1','0','1')

/* Exports (WB2xx) */
#define ERRCODE_WIB_EXPORT_TOKEN_INVALID	MAKE_SQLSTATE('W','B','2','0','1')
#define ERRCODE_WIB_EXPORT_TOKEN_EXPIRED	MAKE_SQLSTATE('W','B','2','0','2')
#define ERRCODE_WIB_EXPORT_NOT_READY		MAKE_SQLSTATE('W','B','2','0','3')
#define ERRCODE_WIB_EXPORT_EXPIRED			MAKE_SQLSTATE('W','B','2','0','4')
#define ERRCODE_WIB_EXPORT_TOO_LARGE		MAKE_SQLSTATE('W','B','2','0','5')
#define ERRCODE_WIB_EXPORT_FILE				MAKE_SQLSTATE('W','B','2','0','6')
/* Object storage (s3_client.c): messages name the operation, status and S3 code, never a secret. */
#define ERRCODE_WIB_EXPORT_STORAGE			MAKE_SQLSTATE('W','B','2','0','7')
#define ERRCODE_WIB_EXPORT_STORAGE_CREDENTIALS	MAKE_SQLSTATE('W','B','2','0','8')
#define ERRCODE_WIB_EXPORT_STORAGE_FULL		MAKE_SQLSTATE('W','B','2','0','9')
#define ERRCODE_WIB_EXPORT_IN_STORAGE		MAKE_SQLSTATE('W','B','2','1','0')
/* Inbound IVR (docs/ivr.md); an invalid Telnyx signature is WB007 above. */
#define ERRCODE_WIB_IVR_KEY_NOT_CONFIGURED	MAKE_SQLSTATE('W','B','3','0','1')
#define ERRCODE_WIB_IVR_PROHIBITED_PHRASE	MAKE_SQLSTATE('W','B','3','0','2')
#define ERRCODE_WIB_IVR_NUMBER_TAKEN		MAKE_SQLSTATE('W','B','3','0','3')
#define ERRCODE_WIB_IVR_MENU_IN_USE			MAKE_SQLSTATE('W','B','3','0','4')
#define ERRCODE_WIB_IVR_NUMBER_UNKNOWN		MAKE_SQLSTATE('W','B','3','0','5')
#define ERRCODE_WIB_IVR_CALLBACK_REPLAYED	MAKE_SQLSTATE('W','B','3','0','6')
#define ERRCODE_WIB_TELNYX_NOT_CONFIGURED	MAKE_SQLSTATE('W','B','3','0','7')
#define ERRCODE_WIB_TELNYX_API_FAILED		MAKE_SQLSTATE('W','B','3','0','8')
#define ERRCODE_WIB_IVR_NUMBER_NOT_OFFERED	MAKE_SQLSTATE('W','B','3','0','9')

/* Analytics (WB4xx). */
#define ERRCODE_WIB_ANALYTICS_BUSY			MAKE_SQLSTATE('W','B','4','0','1')

/* CRM sync (WB5xx, docs/crm.md); a forged CRM webhook is WB007 above. */
#define ERRCODE_WIB_CRM_NOT_CONFIGURED		MAKE_SQLSTATE('W','B','5','0','1')
#define ERRCODE_WIB_CRM_STATE_INVALID		MAKE_SQLSTATE('W','B','5','0','2')
#define ERRCODE_WIB_CRM_STATE_EXPIRED		MAKE_SQLSTATE('W','B','5','0','3')
#define ERRCODE_WIB_CRM_STATE_USED			MAKE_SQLSTATE('W','B','5','0','4')
#define ERRCODE_WIB_CRM_NOT_CONNECTED		MAKE_SQLSTATE('W','B','5','0','5')
#define ERRCODE_WIB_CRM_WEBHOOK_STALE		MAKE_SQLSTATE('W','B','5','0','6')
#define ERRCODE_WIB_CRM_UNKNOWN_ACCOUNT		MAKE_SQLSTATE('W','B','5','0','7')
#define ERRCODE_WIB_CRM_NOT_AVAILABLE		MAKE_SQLSTATE('W','B','5','0','8')

/* Mobile (WB6xx, raised by src/sql/60_mobile/; docs/mobile.md). */
#define ERRCODE_WIB_MOBILE_NO_USER			MAKE_SQLSTATE('W','B','6','0','1')
#define ERRCODE_WIB_MOBILE_DEVICE_REVOKED	MAKE_SQLSTATE('W','B','6','0','2')
#define ERRCODE_WIB_MOBILE_NO_VAPID_KEY		MAKE_SQLSTATE('W','B','6','0','3')
#define ERRCODE_WIB_MOBILE_NO_SUBSCRIPTION	MAKE_SQLSTATE('W','B','6','0','4')
#define ERRCODE_WIB_QR_UNKNOWN				MAKE_SQLSTATE('W','B','6','0','5')
#define ERRCODE_WIB_QR_EXPIRED				MAKE_SQLSTATE('W','B','6','0','6')
#define ERRCODE_WIB_QR_USED					MAKE_SQLSTATE('W','B','6','0','7')

#endif							/* WIB_ERRORS_H */
