/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What differs between the kernels kms_fs is built for (6.1 to 7.3), in one
 * place, so that kms_fs.c reads as a filesystem for one kernel. The VFS
 * changes its methods more often than any other interface a module uses:
 * six entries for the smallest filesystem. Each entry names the release
 * that changed the API; when the oldest supported kernel passes it, the
 * entry goes.
 */
#ifndef _KMS_FS_COMPAT_H
#define _KMS_FS_COMPAT_H

#include <linux/dcache.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/version.h>

/*
 * 6.3 passes inode methods the idmapping of the mount they came through as
 * a struct mnt_idmap (nop_mnt_idmap when there is none); before, as the
 * mount's struct user_namespace (init_user_ns when there is none).
 * inode_init_owner() takes the same.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define kms_fs_idmap mnt_idmap
#define kms_fs_nop_idmap nop_mnt_idmap
#else
#define kms_fs_idmap user_namespace
#define kms_fs_nop_idmap init_user_ns
#endif

/*
 * 6.5 replaced generic_file_splice_read() with filemap_splice_read(), with
 * the same arguments: splice and sendfile read the page cache directly.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
#define filemap_splice_read generic_file_splice_read
#endif

/*
 * 6.6 and 6.7 put an inode's timestamps behind accessors
 * (inode_set_ctime_current(), inode_set_mtime_to_ts(), simple_inode_init_ts());
 * before, a filesystem wrote i_atime, i_mtime and i_ctime itself.
 */
static inline void kms_fs_init_times(struct inode *inode)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	simple_inode_init_ts(inode);
#else
	struct timespec64 now = current_time(inode);

	inode->i_atime = now;
	inode->i_mtime = now;
	inode->i_ctime = now;
#endif
}

/* A directory gained an entry: its mtime and ctime become now. */
static inline void kms_fs_dir_changed(struct inode *dir)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
#else
	struct timespec64 now = current_time(dir);

	dir->i_mtime = now;
	dir->i_ctime = now;
#endif
}

/*
 * 6.15 made ->mkdir() return the dentry it made positive: NULL for the one
 * it was given, or an ERR_PTR(). Before, it returned 0 or a negative errno.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define KMS_FS_MKDIR_TYPE struct dentry *
#define KMS_FS_MKDIR_RESULT(err) ERR_PTR(err)
#else
#define KMS_FS_MKDIR_TYPE int
#define KMS_FS_MKDIR_RESULT(err) (err)
#endif

/*
 * 6.19 marks the dentries a filesystem keeps in memory on purpose (all of
 * them, for a filesystem that lives in the dcache): d_make_persistent()
 * pins one, simple_unlink() and simple_rmdir() unpin it, and umount drops
 * whatever is still pinned, so kill_anon_super() is enough and
 * kill_litter_super() is gone. Before, an extra dget() pinned the dentry
 * and kill_litter_super() dropped those references at umount.
 */
static inline void kms_fs_make_persistent(struct dentry *dentry,
					  struct inode *inode)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
	d_make_persistent(dentry, inode);
#else
	d_instantiate(dentry, inode);
	dget(dentry);
#endif
}

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 19, 0)
#define kms_fs_kill_sb kill_anon_super
#else
#define kms_fs_kill_sb kill_litter_super
#endif

/*
 * 7.3 dropped the last argument of ->create(), bool excl (whether open()
 * asked for O_EXCL), which the VFS handles itself: the mode is the last
 * parameter from 7.3, and excl follows it before.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(7, 3, 0)
#define KMS_FS_CREATE_EXCL(mode) mode
#else
#define KMS_FS_CREATE_EXCL(mode) mode, bool excl
#endif

#endif /* _KMS_FS_COMPAT_H */
