// SPDX-License-Identifier: GPL-2.0
/*
 * kms_binfmt - an executable format of our own: a binfmt handler.
 *
 * execve() reads the first BINPRM_BUF_SIZE bytes of the file into
 * bprm->buf and offers them to each registered struct linux_binfmt in
 * turn. The first whose load_binary() answers anything but -ENOEXEC
 * decides; when all of them answer -ENOEXEC, so does execve() ("Exec
 * format error").
 *
 * This module adds one handler. A file that begins with "#kms!", then the
 * path of an interpreter, then a newline, runs that interpreter with the
 * file's path as its first argument, the way binfmt_script runs "#!"
 * files. Like binfmt_script it loads nothing itself: it rewrites the
 * argument list and hands the opened interpreter to the exec core
 * (bprm->interpreter), which starts again with that file, and stops with
 * -ELOOP when interpreters nest too deep.
 *
 * The handler names THIS_MODULE as its owner: the exec core holds a
 * reference on the module while load_binary() runs, so rmmod cannot take
 * the code away from an exec in flight. Once the module is gone the kernel
 * knows no "#kms!" files any more.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/binfmts.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/string.h>

#define KMS_BINFMT_MAGIC "#kms!"
#define KMS_BINFMT_MAGIC_LEN (sizeof(KMS_BINFMT_MAGIC) - 1)

/*
 * The interpreter's path from the header line, NUL-terminated in place, or
 * NULL when the file has no valid header. bprm->buf is all of the file
 * that the handler sees, and it is not a string: it is the file's first
 * BINPRM_BUF_SIZE bytes, zero-filled past the end of a shorter file.
 * Nothing is written to it unless the header is valid, so that the
 * handlers asked after this one see the file as it is.
 */
static char *kms_binfmt_interpreter(struct linux_binprm *bprm)
{
	char *path = bprm->buf + KMS_BINFMT_MAGIC_LEN;
	char *end;

	if (memcmp(bprm->buf, KMS_BINFMT_MAGIC, KMS_BINFMT_MAGIC_LEN))
		return NULL;
	/*
	 * The line must end within the buffer. A path cut at the buffer's
	 * end could name another program, so a longer line is refused,
	 * and so is an empty one.
	 */
	end = memchr(path, '\n', bprm->buf + sizeof(bprm->buf) - path);
	if (!end || end == path)
		return NULL;
	/* A NUL would end the path early for open_exec(): refused too. */
	if (memchr(path, '\0', end - path))
		return NULL;
	*end = '\0';
	return path;
}

static int kms_binfmt_load_binary(struct linux_binprm *bprm)
{
	const char *interpreter;
	struct file *file;
	int ret;

	interpreter = kms_binfmt_interpreter(bprm);
	if (!interpreter)
		return -ENOEXEC; /* not ours: let the next handler try */

	/*
	 * The interpreter opens this file by its path. When exec was given
	 * an O_CLOEXEC descriptor ("/dev/fd/N"), that path is gone once
	 * exec succeeds: fail now rather than in the interpreter.
	 */
	if (bprm->interp_flags & BINPRM_FLAGS_PATH_INACCESSIBLE)
		return -ENOENT;

	/*
	 * The new argv is the interpreter, the path of this file, then the
	 * caller's argv[1] onwards. The strings are stacked from the top
	 * down, so they are replaced back to front: drop argv[0], push this
	 * file's path (bprm->interp: the name exec was given, or the one a
	 * handler before this one chose), then the interpreter.
	 */
	ret = remove_arg_zero(bprm);
	if (ret)
		return ret;
	ret = copy_string_kernel(bprm->interp, bprm);
	if (ret)
		return ret;
	bprm->argc++;
	ret = copy_string_kernel(interpreter, bprm);
	if (ret)
		return ret;
	bprm->argc++;
	/* Should the interpreter be a script too, its handler sees this name. */
	ret = bprm_change_interp(interpreter, bprm);
	if (ret)
		return ret;

	/*
	 * Opened last: once it is in bprm->interpreter, the exec core owns
	 * the reference. It runs the interpreter in this file's place, and
	 * closes the file the way open_exec() opened it whether exec then
	 * succeeds or fails, so this handler never puts it itself.
	 */
	file = open_exec(interpreter);
	if (IS_ERR(file))
		return PTR_ERR(file);
	bprm->interpreter = file;
	return 0;
}

static struct linux_binfmt kms_binfmt_format = {
	.module = THIS_MODULE,
	.load_binary = kms_binfmt_load_binary,
};

static int __init kms_binfmt_init(void)
{
	/*
	 * At the end of the list, after ELF and "#!": they turn down a file
	 * that is not theirs at once, and a "#kms!" file is not theirs.
	 * insert_binfmt() would put the handler first, as binfmt_misc does
	 * so that its rules can override the kernel's own formats.
	 */
	register_binfmt(&kms_binfmt_format);
	pr_info("registered: files that begin with %s run their interpreter\n",
		KMS_BINFMT_MAGIC);
	return 0;
}

static void __exit kms_binfmt_exit(void)
{
	/*
	 * No exec is in load_binary() now: rmmod got this far only because
	 * none held the module, and a module on its way out gives no new
	 * references, so the exec core skips the handler until it is gone.
	 */
	unregister_binfmt(&kms_binfmt_format);
	pr_info("unregistered\n");
}

module_init(kms_binfmt_init);
module_exit(kms_binfmt_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmsdk developers");
MODULE_DESCRIPTION("A binfmt handler: files that begin with #kms! run their interpreter");
