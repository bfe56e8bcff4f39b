// SPDX-License-Identifier: GPL-2.0
/*
 * kms_fs - the smallest filesystem worth copying: "kmsfs", whose files and
 * directories live in memory, built from the kernel's libfs helpers.
 *
 * A module offers a filesystem by registering a struct file_system_type.
 * mount(2) finds it by name (when no loaded module offers the name, the
 * kernel first asks modprobe for the module aliased fs-<name>), starts a
 * mount context with init_fs_context(), whose get_tree() makes a new
 * superblock, and fill_super() gives that superblock its root directory.
 * From there the methods below serve names and data. The dcache is the
 * whole tree and the page cache holds all the data, as in ramfs: there is
 * no disk, and what is written stays until it is deleted or the
 * filesystem unmounted.
 *
 * The lifetime rule: each superblock holds a reference on the module
 * (file_system_type.owner is THIS_MODULE) from the mount that makes it
 * until its last user is gone (its umount, or after umount -l the last
 * close of a file on it), so the module cannot be removed while a kmsfs
 * exists.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/printk.h>

#include "kms_fs_compat.h"

/* statfs(2)'s f_type for a kmsfs: "kmsf" in ASCII. */
#define KMS_FS_MAGIC 0x6b6d7366

static const struct inode_operations kms_fs_dir_inode_ops;

/* Regular files: the page cache's generic paths do all the work. */
static const struct file_operations kms_fs_file_ops = {
	.read_iter = generic_file_read_iter,
	.write_iter = generic_file_write_iter,
	.mmap = generic_file_mmap,
	.splice_read = filemap_splice_read,
	.splice_write = iter_file_splice_write,
	.fsync = noop_fsync,
	.llseek = generic_file_llseek,
};

static const struct inode_operations kms_fs_file_inode_ops = {
	.setattr = simple_setattr,
	.getattr = simple_getattr,
};

/*
 * A new inode of @sb, owned as the VFS rules for a new name in @dir (NULL
 * for the root). Only directories and regular files are made: without
 * ->mknod, ->symlink and ->tmpfile, the VFS refuses the other kinds.
 */
static struct inode *kms_fs_get_inode(struct super_block *sb,
				      struct kms_fs_idmap *idmap,
				      const struct inode *dir, umode_t mode)
{
	struct inode *inode = new_inode(sb);

	if (!inode)
		return NULL;
	inode->i_ino = get_next_ino();
	inode_init_owner(idmap, inode, dir, mode);
	kms_fs_init_times(inode);

	/*
	 * The pages are the data's only copy: ram_aops never writes them
	 * back, so reclaim must leave them alone, and, as in ramfs, they are
	 * not allocated movable.
	 */
	inode->i_mapping->a_ops = &ram_aops;
	mapping_set_gfp_mask(inode->i_mapping, GFP_HIGHUSER);
	mapping_set_unevictable(inode->i_mapping);

	if (S_ISDIR(mode)) {
		inode->i_op = &kms_fs_dir_inode_ops;
		inode->i_fop = &simple_dir_operations;
		/* Its "." entry links the directory to itself. */
		inc_nlink(inode);
	} else {
		inode->i_op = &kms_fs_file_inode_ops;
		inode->i_fop = &kms_fs_file_ops;
	}
	return inode;
}

/* Gives @dentry, a name @dir does not have yet, a new inode of @mode. */
static int kms_fs_mknod(struct kms_fs_idmap *idmap, struct inode *dir,
			struct dentry *dentry, umode_t mode)
{
	struct inode *inode;

	inode = kms_fs_get_inode(dir->i_sb, idmap, dir, mode);
	if (!inode)
		return -ENOSPC;
	/*
	 * The dcache is all there is of the tree: pin the dentry, or memory
	 * pressure would drop it, and the file with it.
	 */
	kms_fs_make_persistent(dentry, inode);
	kms_fs_dir_changed(dir);
	return 0;
}

static int kms_fs_create(struct kms_fs_idmap *idmap, struct inode *dir,
			 struct dentry *dentry, umode_t KMS_FS_CREATE_EXCL(mode))
{
	return kms_fs_mknod(idmap, dir, dentry, mode | S_IFREG);
}

static KMS_FS_MKDIR_TYPE kms_fs_mkdir(struct kms_fs_idmap *idmap,
				      struct inode *dir, struct dentry *dentry,
				      umode_t mode)
{
	int ret = kms_fs_mknod(idmap, dir, dentry, mode | S_IFDIR);

	/* The new directory's ".." links it to its parent. */
	if (!ret)
		inc_nlink(dir);
	return KMS_FS_MKDIR_RESULT(ret);
}

/*
 * A name that the dcache does not hold does not exist, which is all that
 * simple_lookup() has to say. The simple_ helpers that remove and rename
 * names also undo the pin that kms_fs_mknod() took.
 */
static const struct inode_operations kms_fs_dir_inode_ops = {
	.lookup = simple_lookup,
	.create = kms_fs_create,
	.mkdir = kms_fs_mkdir,
	.link = simple_link,
	.unlink = simple_unlink,
	.rmdir = simple_rmdir,
	.rename = simple_rename,
};

static const struct super_operations kms_fs_super_ops = {
	.statfs = simple_statfs,
};

static int kms_fs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct inode *root;

	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = KMS_FS_MAGIC;
	sb->s_op = &kms_fs_super_ops;
	sb->s_time_gran = 1;

	root = kms_fs_get_inode(sb, &kms_fs_nop_idmap, NULL, S_IFDIR | 0755);
	/* d_make_root() puts the inode if it cannot make the dentry. */
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	return 0;
}

/* Every mount makes a new, empty kmsfs: a superblock of its own, no device. */
static int kms_fs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, kms_fs_fill_super);
}

static const struct fs_context_operations kms_fs_context_ops = {
	.get_tree = kms_fs_get_tree,
};

/*
 * mount(2) and fsopen(2) start here. kmsfs takes no options: without
 * ->parse_param, the VFS refuses all but "source" (mount's "none").
 */
static int kms_fs_init_fs_context(struct fs_context *fc)
{
	fc->ops = &kms_fs_context_ops;
	return 0;
}

static struct file_system_type kms_fs_type = {
	/* Each superblock holds a reference on this module while it lives. */
	.owner = THIS_MODULE,
	.name = "kmsfs",
	.init_fs_context = kms_fs_init_fs_context,
	.kill_sb = kms_fs_kill_sb,
};

/* What "mount -t kmsfs" asks modprobe for when no module offers kmsfs. */
MODULE_ALIAS_FS("kmsfs");

static int __init kms_fs_init(void)
{
	int ret;

	ret = register_filesystem(&kms_fs_type);
	if (ret)
		return ret;
	pr_info("registered filesystem %s\n", kms_fs_type.name);
	return 0;
}

static void __exit kms_fs_exit(void)
{
	unregister_filesystem(&kms_fs_type);
	pr_info("unregistered filesystem %s\n", kms_fs_type.name);
}

module_init(kms_fs_init);
module_exit(kms_fs_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("A filesystem in memory, built on libfs and the fs_context API");
