/*
 * menu_cache.h
 *		Per-backend cache of rendered IVR menus, invalidated by a shared
 *		generation counter that every committed menu change advances.
 */
#ifndef WIB_MENU_CACHE_H
#define WIB_MENU_CACHE_H

#include "utils/uuid.h"

typedef struct MenuCacheKey
{
	Oid			userid;
	pg_uuid_t	org;
	pg_uuid_t	menu;
	int32		attempt;
	bool		disclosure;
} MenuCacheKey;

extern void menu_cache_shmem_request(void);
extern void menu_cache_shmem_startup(void);
extern bool menu_cache_usable(uint64 *generation);
extern text *menu_cache_get(const MenuCacheKey *key, uint64 generation, const char *callback);
extern void menu_cache_put(const MenuCacheKey *key, uint64 generation, const char *callback, const char *doc, int len);

#endif							/* WIB_MENU_CACHE_H */
