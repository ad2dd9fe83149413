/*
 * files.h
 *		Export settings and the files of completed exports.
 */
#ifndef WIB_EXPORT_FILES_H
#define WIB_EXPORT_FILES_H

extern char *export_directory;

extern void exports_define_settings(void);
extern char *export_file_path(const char *storage_key, bool create_dir);
extern char *export_directory_path(void);

#endif							/* WIB_EXPORT_FILES_H */
