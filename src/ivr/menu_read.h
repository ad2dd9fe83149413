/*
 * menu_read.h
 *		Reads one IVR menu and its options straight from the tables' indexes
 *		(on a Citus cluster, by a routed statement).
 */
#ifndef WIB_MENU_READ_H
#define WIB_MENU_READ_H

#include "utils/uuid.h"

#define MENU_READ_MAX_OPTIONS 16

typedef struct MenuData
{
	char	   *greeting_type;
	char	   *greeting_text;
	char	   *greeting_audio_url;
	char	   *voice;
	char	   *language;
	char	   *disclosure_text;
	char	   *invalid_prompt;
	int32		timeout_seconds;
	int			noptions;
	char	   *digits[MENU_READ_MAX_OPTIONS];
	char	   *labels[MENU_READ_MAX_OPTIONS];	/* spoken inside the Gather */
	int32		sort_orders[MENU_READ_MAX_OPTIONS];
} MenuData;

extern bool menu_read(const pg_uuid_t *org, const pg_uuid_t *menu, bool fresh_snapshot, MenuData *out);

/* True when the menu tables are Citus tables (their rows and changes are on the workers). */
extern bool menu_read_distributed(void);

#endif							/* WIB_MENU_READ_H */
