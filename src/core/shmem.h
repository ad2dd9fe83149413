/*
 * shmem.h
 *		wib's shared memory: one request and one start-up hook serving every subsystem.
 */
#ifndef WIB_SHMEM_H
#define WIB_SHMEM_H

extern void shmem_install_hooks(void);
extern bool shmem_is_ready(void);
extern void shmem_require(const char *what);

#endif							/* WIB_SHMEM_H */
