// SPDX-License-Identifier: GPL-2.0
/*
 * masstreectl: use the maps of /dev/masstree from the shell.
 *
 *   masstreectl [--device PATH] [--hex] [--json|--pretty] COMMAND [OPTIONS] ARGS...
 *   masstreectl COMMAND --help
 *   masstreectl --version
 *
 * Keys and values are given and printed as text with C-style escapes
 * (\\ \n \t \r \0 \xHH), or as hex digits with --hex; what one command
 * prints another reads back unchanged. Records print as "KEY<TAB>VALUE"
 * lines, the format `load` reads. With --json (-j), list, stats, get,
 * scan, dump, load and clear print JSON instead (--pretty, -p: indented);
 * the schema is in masstreectl(8) and docs/device.md. Commands may be
 * abbreviated to any unique prefix, as ip(8) allows.
 *
 * Exit status: 0 success; 1 the key is absent (get, del, put --exist,
 * cmpxchg), present (put --noexist), or holds another value (cmpxchg);
 * 2 usage error; 3 any other error: one line on stderr with strerror()
 * and, where one helps, a hint.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/masstree.h>

#define EXIT_NO		1	/* absent, present or mismatch */
#define EXIT_USAGE	2
#define EXIT_ERR	3

#ifndef MASSTREE_VERSION
#define MASSTREE_VERSION "unknown"
#endif

#define DEBUGFS_MAPS	"/sys/kernel/debug/masstree/maps"
#define SCAN_BUF	(256 * 1024)

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define PTR(p)		((__u64)(uintptr_t)(p))

/* Options, one bit each, so that each command says which it takes. */
enum {
	O_HEX		= 1 << 0,
	O_MODE		= 1 << 1,
	O_NOEXIST	= 1 << 2,
	O_EXIST		= 1 << 3,
	O_REVERSE	= 1 << 4,
	O_PREFIX	= 1 << 5,
	O_START		= 1 << 6,
	O_END		= 1 << 7,
	O_START_EXCL	= 1 << 8,
	O_END_EXCL	= 1 << 9,
	O_LIMIT		= 1 << 10,
	O_KEYS		= 1 << 11,
	O_LONG		= 1 << 12,
	O_TREE		= 1 << 13,
	O_BATCH		= 1 << 14,
	O_DEVICE	= 1 << 15,
	O_HELP		= 1 << 16,
	O_JSON		= 1 << 17,
	O_PRETTY	= 1 << 18,
	O_VERSION	= 1 << 19,
};

#define O_GLOBAL	(O_HEX | O_DEVICE | O_HELP | O_JSON | O_PRETTY | O_VERSION)

static const struct option long_opts[] = {
	{ "hex",	no_argument,		NULL, 'x' },
	{ "mode",	required_argument,	NULL, 'm' },
	{ "noexist",	no_argument,		NULL, 'n' },
	{ "exist",	no_argument,		NULL, 'e' },
	{ "reverse",	no_argument,		NULL, 'r' },
	{ "prefix",	required_argument,	NULL, 'P' },
	{ "start",	required_argument,	NULL, 's' },
	{ "end",	required_argument,	NULL, 'E' },
	{ "start-excl",	no_argument,		NULL, 'S' },
	{ "end-excl",	no_argument,		NULL, 'X' },
	{ "limit",	required_argument,	NULL, 'l' },
	{ "keys-only",	no_argument,		NULL, 'k' },
	{ "long",	no_argument,		NULL, 'L' },
	{ "tree",	no_argument,		NULL, 'T' },
	{ "batch",	required_argument,	NULL, 'b' },
	{ "device",	required_argument,	NULL, 'd' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "json",	no_argument,		NULL, 'j' },
	{ "pretty",	no_argument,		NULL, 'p' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* -p is --pretty, as in bpftool; --prefix is -P. */
static const char short_opts[] = "xm:nerP:s:E:l:kLd:hjpV";

/* A byte string given on the command line or read from a file. */
struct bytes {
	char *p;
	size_t len;
};

static struct {
	unsigned int seen;
	const char *device;
	unsigned long mode;
	const char *prefix, *start, *end;
	unsigned long long limit;
	unsigned long batch;
} opt = {
	.device = "/dev/masstree",
	.mode = 0600,
	.batch = 256,
};

struct command {
	const char *name;
	int (*run)(char **argv);
	int nargs;
	unsigned int opts;
	const char *synopsis;
	const char *help;
};

static const struct command *cmd;

static void usage_exit(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "masstreectl: %s%s", cmd ? cmd->name : "",
		cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'masstreectl %s%s--help'.\n",
		cmd ? cmd->name : "", cmd ? " " : "");
	exit(EXIT_USAGE);
}

#define PARAMS		"/sys/module/masstree/parameters"
#define NAME_RULE	"1 to 63 characters of [A-Za-z0-9._-], not starting with '.'"

/* What to try after an error that any command may meet. */
static const char *common_hint(int err)
{
	switch (err) {
	case ENOSPC:
		return "a byte cap is reached: max_map_bytes or max_total_bytes in " PARAMS;
	case EDQUOT:
		return "the map creator's cap is reached: max_user_bytes or max_maps in " PARAMS;
	case EIDRM:
		return "the map was destroyed meanwhile";
	case ENOTTY:
		return "is --device a masstree device?";
	default:
		return NULL;
	}
}

/*
 * An error other than the expected outcomes: one line with strerror() and
 * @hint (or a hint common to every command), then exit 3.
 */
static void __attribute__((format(printf, 3, 4), noreturn))
fail_hint(int err, const char *hint, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "masstreectl: %s%s", cmd ? cmd->name : "",
		cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!hint)
		hint = common_hint(err);
	fprintf(stderr, ": %s%s%s%s\n", strerror(err), hint ? " (" : "",
		hint ? hint : "", hint ? ")" : "");
	exit(EXIT_ERR);
}

#define fail_errno(err, ...)	fail_hint(err, NULL, __VA_ARGS__)

/* Hints for the commands that name a map. */
static const char *map_hint(int err)
{
	switch (err) {
	case ENOENT:
		return "no such map: 'masstreectl list' shows them";
	case EACCES:
		return "its mode does not let you: see 'masstreectl list --long'";
	case EPERM:
		return "only its owner, or root, may";
	case EEXIST:
		return "the name is taken: pick another, or destroy that map first";
	default:
		return NULL;
	}
}

/* An expected negative outcome (absent, present, mismatch): exit 1. */
static int outcome(const char *what)
{
	fprintf(stderr, "masstreectl: %s: %s\n", cmd->name, what);
	return EXIT_NO;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fail_errno(ENOMEM, "malloc");
	return p;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Decode @s (text with escapes, or hex with --hex) into @b. Returns 0, or
 * -EINVAL with @b's buffer freed.
 */
static int decode(const char *s, size_t n, struct bytes *b)
{
	size_t i, o = 0;
	int hi, lo;

	b->p = xmalloc(n + 1);
	if (opt.seen & O_HEX) {
		if (n % 2)
			goto bad;
		for (i = 0; i < n; i += 2) {
			hi = hexval((unsigned char)s[i]);
			lo = hexval((unsigned char)s[i + 1]);
			if (hi < 0 || lo < 0)
				goto bad;
			b->p[o++] = (char)(hi << 4 | lo);
		}
		b->len = o;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (s[i] != '\\') {
			b->p[o++] = s[i];
			continue;
		}
		if (++i == n)
			goto bad;
		switch (s[i]) {
		case '\\':
			b->p[o++] = '\\';
			break;
		case 'n':
			b->p[o++] = '\n';
			break;
		case 't':
			b->p[o++] = '\t';
			break;
		case 'r':
			b->p[o++] = '\r';
			break;
		case '0':
			b->p[o++] = '\0';
			break;
		case 'x':
			if (i + 2 >= n)
				goto bad;
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0)
				goto bad;
			b->p[o++] = (char)(hi << 4 | lo);
			i += 2;
			break;
		default:
			goto bad;
		}
	}
	b->len = o;
	return 0;
bad:
	free(b->p);
	b->p = NULL;
	return -EINVAL;
}

static struct bytes arg_bytes(const char *what, const char *s)
{
	struct bytes b;

	if (decode(s, strlen(s), &b))
		usage_exit("bad %s '%s' (%s)", what, s, (opt.seen & O_HEX) ?
			   "hex: an even number of hex digits" :
			   "escapes: \\\\ \\n \\t \\r \\0 \\xHH");
	return b;
}

/* Print @p as text with escapes, or as hex. */
static void encode(FILE *f, const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (opt.seen & O_HEX)
			fprintf(f, "%02x", u[i]);
		else if (u[i] == '\\')
			fputs("\\\\", f);
		else if (u[i] == '\n')
			fputs("\\n", f);
		else if (u[i] == '\t')
			fputs("\\t", f);
		else if (u[i] == '\r')
			fputs("\\r", f);
		else if (u[i] < 0x20 || u[i] >= 0x7f)
			fprintf(f, "\\x%02x", u[i]);
		else
			fputc(u[i], f);
	}
}

/*
 * JSON output (--json, --pretty). Keys and values are JSON strings in the
 * same form as the text output: escaped text, or hex digits with --hex,
 * so pure ASCII whatever the bytes, and what jq -r prints reads back in.
 * Numbers are unsigned decimal. Nesting is at most two deep.
 */
static struct {
	int depth;
	bool first;	/* nothing printed yet inside the innermost container */
} js = { .first = true };

static bool json(void)
{
	return opt.seen & (O_JSON | O_PRETTY);
}

static void json_newline(void)
{
	if (opt.seen & O_PRETTY)
		printf("\n%*s", 2 * js.depth, "");
}

/* Before a member or an element: the comma, and with --pretty a new line. */
static void json_sep(void)
{
	if (!js.first)
		putchar(',');
	if (js.depth)
		json_newline();
	js.first = false;
}

static void json_open(char c)
{
	putchar(c);
	js.depth++;
	js.first = true;
}

static void json_close(char c)
{
	js.depth--;
	if (!js.first)
		json_newline();
	putchar(c);
	js.first = false;
	if (!js.depth)
		putchar('\n');
}

static void json_key(const char *name)
{
	json_sep();
	printf("\"%s\":%s", name, (opt.seen & O_PRETTY) ? " " : "");
}

static void json_u64(const char *name, unsigned long long v)
{
	json_key(name);
	printf("%llu", v);
}

/* A string member; @s is ASCII (names, encoded bytes). */
static void json_str(const char *name, const char *s)
{
	json_key(name);
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	putchar('"');
}

/* A key or value member: @p encoded as the text output would show it. */
static void json_bytes(const char *name, const char *p, size_t len)
{
	char *text;
	size_t size;
	FILE *f = open_memstream(&text, &size);

	if (!f)
		fail_errno(errno, "open_memstream");
	encode(f, p, len);
	if (fclose(f))
		fail_errno(errno, "open_memstream");
	json_str(name, text);
	free(text);
}

static int dev_open(void)
{
	int fd = open(opt.device, O_RDWR | O_CLOEXEC);
	const char *hint = NULL;

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENXIO || errno == ENODEV)
		hint = "is the module loaded? try 'modprobe masstree'";
	else if (errno == EACCES)
		hint = "the device's mode is the module parameter dev_mode";
	fail_hint(errno, hint, "%s", opt.device);
}

/*
 * Is @name a map name as the device takes it: 1 to 63 characters of
 * [A-Za-z0-9._-], not starting with '.'? Checked here so that a typo gets
 * a usage error saying why, not the ioctl's bare EINVAL.
 */
static bool name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (!len || len >= MASSTREE_NAME_MAX || name[0] == '.')
		return false;
	/* ASCII only, as the device checks: not isalnum(), which follows the locale. */
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static void check_name(const char *name)
{
	_Static_assert(MASSTREE_NAME_MAX == 64, "NAME_RULE says 63 characters");
	if (!name_ok(name))
		usage_exit("bad map name '%s': " NAME_RULE, name);
}

/* Copy map name @name into @dst (MASSTREE_NAME_MAX bytes, zeroed). */
static void set_name(char *dst, const char *name)
{
	check_name(name);
	memcpy(dst, name, strlen(name));
}

/* Open /dev/masstree and attach to map @name with @access. */
static int map_open(const char *name, __u64 access)
{
	struct masstree_ioc_name n = { .size = sizeof(n), .flags = access };
	int fd;

	set_name(n.name, name);
	fd = dev_open();
	if (ioctl(fd, MASSTREE_IOC_OPEN, &n))
		fail_hint(errno, map_hint(errno), "open map '%s'", name);
	return fd;
}

static int cmd_create(char **argv)
{
	struct masstree_ioc_create c = { .size = sizeof(c), .mode = opt.mode };
	int fd;

	set_name(c.name, argv[0]);
	fd = dev_open();
	if (ioctl(fd, MASSTREE_IOC_CREATE, &c))
		fail_hint(errno, errno == EDQUOT ?
			  "you created max_maps maps already: see " PARAMS :
			  map_hint(errno), "'%s'", argv[0]);
	return 0;
}

static int cmd_destroy(char **argv)
{
	struct masstree_ioc_name n = { .size = sizeof(n) };
	int fd;

	set_name(n.name, argv[0]);
	fd = dev_open();
	if (ioctl(fd, MASSTREE_IOC_DESTROY, &n))
		fail_hint(errno, map_hint(errno), "'%s'", argv[0]);
	return 0;
}

static int cmd_list(char **argv)
{
	struct masstree_map_info info[64];
	struct masstree_ioc_list l = {
		.size = sizeof(l), .maps = PTR(info), .nr = 64,
	};
	int fd = dev_open();
	__u64 i;

	(void)argv;
	if (json())
		json_open('[');
	do {
		if (ioctl(fd, MASSTREE_IOC_LIST, &l))
			fail_errno(errno, "list");
		for (i = 0; i < l.count; i++) {
			info[i].name[MASSTREE_NAME_MAX - 1] = '\0';
			if (json()) {
				char mode[8];

				snprintf(mode, sizeof(mode), "%04llo",
					 (unsigned long long)info[i].mode & 07777);
				json_sep();
				json_open('{');
				json_str("name", info[i].name);
				json_str("mode", mode);
				json_u64("uid", info[i].uid);
				json_u64("gid", info[i].gid);
				json_u64("cuid", info[i].cuid);
				json_u64("cgid", info[i].cgid);
				json_u64("keys", info[i].keys);
				json_u64("bytes", info[i].bytes);
				json_close('}');
			} else if (opt.seen & O_LONG) {
				printf("%04llo %llu %llu %llu %llu %s\n",
				       (unsigned long long)info[i].mode,
				       (unsigned long long)info[i].uid,
				       (unsigned long long)info[i].gid,
				       (unsigned long long)info[i].keys,
				       (unsigned long long)info[i].bytes,
				       info[i].name);
			} else {
				printf("%s\n", info[i].name);
			}
		}
		if (!l.count)
			break;
		memcpy(l.after, info[l.count - 1].name, sizeof(l.after));
	} while (l.more);
	if (json())
		json_close(']');
	return 0;
}

static unsigned long long parse_num(const char *what, const char *s, int base,
				    unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || end == s || *end || *s == '-' || v > max)
		usage_exit("bad %s '%s'", what, s);
	return v;
}

static int setattr(const char *name, __u64 flags, __u64 mode, __u64 uid,
		   __u64 gid)
{
	struct masstree_ioc_setattr a = {
		.size = sizeof(a), .flags = flags, .mode = mode, .uid = uid,
		.gid = gid,
	};
	int fd = dev_open();

	set_name(a.name, name);
	if (ioctl(fd, MASSTREE_IOC_SETATTR, &a))
		fail_hint(errno, errno == EPERM ?
			  "only the owner, or root, may change its mode; a new owner needs root" :
			  map_hint(errno), "'%s'", name);
	return 0;
}

static int cmd_chmod(char **argv)
{
	return setattr(argv[0], MASSTREE_SETATTR_MODE,
		       parse_num("mode", argv[1], 8, 0777), 0, 0);
}

/*
 * A user or group: a number, or a name looked up in /etc/passwd or
 * /etc/group. The files are read directly, not through NSS, which a
 * static binary cannot load.
 */
static __u64 parse_id(bool group, const char *s)
{
	const char *file = group ? "/etc/group" : "/etc/passwd";
	__u64 id = (__u64)-1;
	FILE *f;

	if (*s >= '0' && *s <= '9')
		return parse_num(group ? "gid" : "uid", s, 10, UINT32_MAX - 1);
	f = fopen(file, "r");
	if (!f)
		usage_exit("%s '%s': cannot read %s (%s); give a number",
			   group ? "group" : "user", s, file, strerror(errno));
	for (;;) {
		if (group) {
			struct group *g = fgetgrent(f);

			if (!g || !strcmp(g->gr_name, s)) {
				id = g ? g->gr_gid : id;
				break;
			}
		} else {
			struct passwd *pw = fgetpwent(f);

			if (!pw || !strcmp(pw->pw_name, s)) {
				id = pw ? pw->pw_uid : id;
				break;
			}
		}
	}
	fclose(f);
	if (id == (__u64)-1)
		usage_exit("no %s '%s' in %s", group ? "group" : "user", s,
			   file);
	return id;
}

static int cmd_chown(char **argv)
{
	char *owner = argv[1], *colon = strchr(owner, ':');
	__u64 flags = 0, uid = 0, gid = 0;

	if (colon) {
		*colon = '\0';
		if (colon[1]) {
			gid = parse_id(true, colon + 1);
			flags |= MASSTREE_SETATTR_GID;
		}
	}
	if (*owner) {
		uid = parse_id(false, owner);
		flags |= MASSTREE_SETATTR_UID;
	}
	if (!flags)
		usage_exit("give USER, USER:GROUP or :GROUP");
	return setattr(argv[0], flags, 0, uid, gid);
}

static void check_key(const struct bytes *k)
{
	if (k->len > MASSTREE_KEY_MAX)
		usage_exit("key longer than %d bytes", MASSTREE_KEY_MAX);
}

static void check_value(const struct bytes *v)
{
	if (v->len > MASSTREE_VALUE_MAX)
		usage_exit("value longer than %d bytes", MASSTREE_VALUE_MAX);
}

static int cmd_put(char **argv)
{
	struct bytes k = arg_bytes("key", argv[1]);
	struct bytes v = arg_bytes("value", argv[2]);
	struct masstree_ioc_op op = {
		.size = sizeof(op), .key = PTR(k.p), .key_len = k.len,
		.value = PTR(v.p), .value_len = v.len,
	};
	int fd;

	check_key(&k);
	check_value(&v);
	if ((opt.seen & O_NOEXIST) && (opt.seen & O_EXIST))
		usage_exit("--noexist and --exist exclude each other");
	if (opt.seen & O_NOEXIST)
		op.flags = MASSTREE_PUT_NOEXIST;
	if (opt.seen & O_EXIST)
		op.flags = MASSTREE_PUT_EXIST;
	fd = map_open(argv[0], MASSTREE_OPEN_WRITE);
	if (!ioctl(fd, MASSTREE_IOC_PUT, &op))
		return 0;
	if (errno == EEXIST && (opt.seen & O_NOEXIST))
		return outcome("key exists");
	if (errno == ENOENT && (opt.seen & O_EXIST))
		return outcome("key not found");
	fail_errno(errno, "put");
	return EXIT_ERR;
}

static int cmd_get(char **argv)
{
	struct bytes k = arg_bytes("key", argv[1]);
	struct masstree_ioc_op op = {
		.size = sizeof(op), .key = PTR(k.p), .key_len = k.len,
	};
	size_t cap = 4096;
	char *buf = NULL;
	int fd;

	check_key(&k);
	fd = map_open(argv[0], MASSTREE_OPEN_READ);
	for (;;) {
		free(buf);
		buf = xmalloc(cap);
		op.value = PTR(buf);
		op.value_len = cap;
		if (!ioctl(fd, MASSTREE_IOC_GET, &op))
			break;
		if (errno == ENOENT)
			return outcome("key not found");
		/* The value grew between two calls: try again. */
		if (errno == EOVERFLOW && op.out_len > cap) {
			cap = op.out_len;
			continue;
		}
		fail_errno(errno, "get");
	}
	if (json()) {
		json_open('{');
		json_bytes("key", k.p, k.len);
		json_bytes("value", buf, op.out_len);
		json_close('}');
		return 0;
	}
	encode(stdout, buf, op.out_len);
	putchar('\n');
	return 0;
}

static int cmd_del(char **argv)
{
	struct bytes k = arg_bytes("key", argv[1]);
	struct masstree_ioc_op op = {
		.size = sizeof(op), .key = PTR(k.p), .key_len = k.len,
	};
	int fd;

	check_key(&k);
	fd = map_open(argv[0], MASSTREE_OPEN_WRITE);
	if (!ioctl(fd, MASSTREE_IOC_DEL, &op))
		return 0;
	if (errno == ENOENT)
		return outcome("key not found");
	fail_errno(errno, "del");
	return EXIT_ERR;
}

static int cmd_cmpxchg(char **argv)
{
	struct bytes k = arg_bytes("key", argv[1]);
	struct bytes e = arg_bytes("expected value", argv[2]);
	struct bytes v = arg_bytes("value", argv[3]);
	struct masstree_ioc_op op = {
		.size = sizeof(op), .key = PTR(k.p), .key_len = k.len,
		.value = PTR(v.p), .value_len = v.len,
		.expect = PTR(e.p), .expect_len = e.len,
	};
	int fd;

	check_key(&k);
	check_value(&e);
	check_value(&v);
	fd = map_open(argv[0], MASSTREE_OPEN_READ | MASSTREE_OPEN_WRITE);
	if (!ioctl(fd, MASSTREE_IOC_CMPXCHG, &op))
		return 0;
	if (errno == ENOENT)
		return outcome("key not found");
	if (errno == ECANCELED)
		return outcome("value differs");
	fail_errno(errno, "cmpxchg");
	return EXIT_ERR;
}

/*
 * The smallest key above every key that starts with @p: @p with its last
 * byte below 0xff incremented and what follows dropped. False if there is
 * none (@p empty or all 0xff).
 */
static bool prefix_end(const struct bytes *p, struct bytes *end)
{
	size_t n = p->len;

	while (n && (unsigned char)p->p[n - 1] == 0xff)
		n--;
	if (!n)
		return false;
	end->p = xmalloc(n);
	memcpy(end->p, p->p, n);
	end->p[n - 1]++;
	end->len = n;
	return true;
}

/* Print the records of [start, end] (see scan --help); returns the count. */
static unsigned long long scan_print(int fd, __u64 flags,
				     const struct bytes *start,
				     const struct bytes *end,
				     unsigned long long limit)
{
	struct masstree_ioc_scan s = { .size = sizeof(s) };
	size_t cap = SCAN_BUF;
	char *buf = xmalloc(cap), *resume = xmalloc(MASSTREE_KEY_MAX);
	unsigned long long total = 0;
	size_t off;
	__u64 i;

	s.flags = flags;
	if (json())
		json_open('[');
	if (start) {
		s.start = PTR(start->p);
		s.start_len = start->len;
	}
	if (end) {
		s.end = PTR(end->p);
		s.end_len = end->len;
	}
	for (;;) {
		s.limit = limit ? limit - total : 0;
		s.buf = PTR(buf);
		s.buf_len = cap;
		s.resume = PTR(resume);
		s.resume_len = MASSTREE_KEY_MAX;
		if (ioctl(fd, MASSTREE_IOC_SCAN, &s)) {
			if (errno == EOVERFLOW && s.used > cap) {
				free(buf);
				cap = s.used;
				buf = xmalloc(cap);
				continue;
			}
			fail_errno(errno, "scan");
		}
		for (i = 0, off = 0; i < s.count; i++) {
			struct masstree_ioc_scan_rec r;

			memcpy(&r, buf + off, sizeof(r));
			off += sizeof(r);
			if (json()) {
				json_sep();
				json_open('{');
				json_bytes("key", buf + off, r.key_len);
				if (!(opt.seen & O_KEYS))
					json_bytes("value", buf + off + r.key_len,
						   r.value_len);
				json_close('}');
				off += ((size_t)r.key_len + r.value_len + 7) &
				       ~(size_t)7;
				continue;
			}
			encode(stdout, buf + off, r.key_len);
			if (!(opt.seen & O_KEYS)) {
				putchar('\t');
				encode(stdout, buf + off + r.key_len,
				       r.value_len);
			}
			putchar('\n');
			off += ((size_t)r.key_len + r.value_len + 7) & ~(size_t)7;
		}
		total += s.count;
		if (!s.more || (limit && total >= limit))
			break;
		/* Go on from the resume key, inclusive. */
		s.flags &= ~(__u64)(MASSTREE_IOC_SCAN_NO_START |
				    MASSTREE_IOC_SCAN_START_EXCL);
		s.start = PTR(resume);
		s.start_len = s.resume_len;
	}
	if (json())
		json_close(']');
	free(buf);
	free(resume);
	return total;
}

static int cmd_scan(char **argv)
{
	struct bytes start = { 0 }, end = { 0 }, prefix;
	bool has_start = opt.seen & O_START, has_end = opt.seen & O_END;
	bool rev = opt.seen & O_REVERSE;
	__u64 flags = 0;
	int fd;

	if (opt.seen & O_START)
		start = arg_bytes("start key", opt.start);
	if (opt.seen & O_END)
		end = arg_bytes("end key", opt.end);
	if (opt.seen & O_PREFIX) {
		struct bytes lo, hi = { 0 };
		bool bounded;

		if (has_start || has_end)
			usage_exit("--prefix excludes --start and --end");
		if (opt.seen & (O_START_EXCL | O_END_EXCL))
			usage_exit("--prefix excludes --start-excl and --end-excl");
		prefix = arg_bytes("prefix", opt.prefix);
		check_key(&prefix);
		lo = prefix;
		bounded = prefix_end(&prefix, &hi);
		/* Keys k with lo <= k < hi; in reverse, from hi down to lo. */
		if (!rev) {
			start = lo;
			has_start = true;
			if (bounded) {
				end = hi;
				has_end = true;
				flags |= MASSTREE_IOC_SCAN_END_EXCL;
			}
		} else {
			end = lo;
			has_end = true;
			if (bounded) {
				start = hi;
				has_start = true;
				flags |= MASSTREE_IOC_SCAN_START_EXCL;
			}
		}
	}
	if (has_start)
		check_key(&start);
	if (has_end)
		check_key(&end);
	if (rev)
		flags |= MASSTREE_IOC_SCAN_REVERSE;
	if (!has_start)
		flags |= MASSTREE_IOC_SCAN_NO_START;
	if (!has_end)
		flags |= MASSTREE_IOC_SCAN_NO_END;
	if (opt.seen & O_START_EXCL)
		flags |= MASSTREE_IOC_SCAN_START_EXCL;
	if (opt.seen & O_END_EXCL)
		flags |= MASSTREE_IOC_SCAN_END_EXCL;
	fd = map_open(argv[0], MASSTREE_OPEN_READ);
	scan_print(fd, flags, has_start ? &start : NULL, has_end ? &end : NULL,
		   opt.limit);
	return 0;
}

static int cmd_dump(char **argv)
{
	char path[sizeof(DEBUGFS_MAPS) + MASSTREE_NAME_MAX + 8], buf[4096];
	size_t n;
	FILE *f;
	int fd;

	if ((opt.seen & O_TREE) && json())
		usage_exit("--tree prints text only");
	if (!(opt.seen & O_TREE)) {
		fd = map_open(argv[0], MASSTREE_OPEN_READ);
		scan_print(fd, MASSTREE_IOC_SCAN_NO_START | MASSTREE_IOC_SCAN_NO_END,
			   NULL, NULL, 0);
		return 0;
	}
	check_name(argv[0]);
	snprintf(path, sizeof(path), "%s/%s/dump", DEBUGFS_MAPS, argv[0]);
	f = fopen(path, "r");
	if (!f)
		fail_errno(errno, "%s (debugfs mounted? root?)", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	if (ferror(f))
		fail_errno(errno, "%s", path);
	fclose(f);
	return 0;
}

/* One field of stats: "FIELD VALUE", or a JSON member. */
static void stat_line(const char *name, __u64 v)
{
	if (json())
		json_u64(name, v);
	else
		printf("%-14s %llu\n", name, (unsigned long long)v);
}

static int cmd_stats(char **argv)
{
	struct masstree_ioc_stats st = { .size = sizeof(st) };
	int fd = map_open(argv[0], MASSTREE_OPEN_READ);

	if (ioctl(fd, MASSTREE_IOC_STATS, &st))
		fail_errno(errno, "stats");
	if (json()) {
		json_open('{');
		json_str("name", argv[0]);
	}
#define P(f) stat_line(#f, st.f)
	P(keys);
	P(leaves);
	P(internodes);
	P(layers);
	P(height);
	P(node_bytes);
	P(value_bytes);
	P(charged_bytes);
	P(gets);
	P(puts);
	P(dels);
	P(cmpxchgs);
	P(scans);
	P(batches);
	if (json()) {
		P(cuid);
		P(cgid);
		json_close('}');
	}
#undef P
	return 0;
}

static int cmd_clear(char **argv)
{
	struct masstree_ioc_clear c = { .size = sizeof(c) };
	int fd = map_open(argv[0], MASSTREE_OPEN_WRITE);

	if (ioctl(fd, MASSTREE_IOC_CLEAR, &c))
		fail_errno(errno, "clear");
	if (json()) {
		json_open('{');
		json_u64("cleared", c.cleared);
		json_close('}');
	} else {
		printf("cleared %llu\n", (unsigned long long)c.cleared);
	}
	return 0;
}

/* One line of a load file, kept for error messages. */
struct load_rec {
	struct bytes key, value;
	unsigned long line;
};

/* Run the PUTs of @recs[0..n) as one BATCH; exit on the first failure. */
static void load_batch(int fd, struct load_rec *recs, size_t n,
		       const char *file)
{
	struct masstree_ioc_op *ops = calloc(n, sizeof(*ops));
	struct masstree_ioc_batch b = {
		.size = sizeof(b), .ops = PTR(ops), .nr = n,
	};
	size_t i;

	if (!ops)
		fail_errno(ENOMEM, "calloc");
	for (i = 0; i < n; i++) {
		ops[i].size = sizeof(ops[i]);
		ops[i].op = MASSTREE_OP_PUT;
		ops[i].flags = (opt.seen & O_NOEXIST) ? MASSTREE_PUT_NOEXIST : 0;
		ops[i].key = PTR(recs[i].key.p);
		ops[i].key_len = recs[i].key.len;
		ops[i].value = PTR(recs[i].value.p);
		ops[i].value_len = recs[i].value.len;
	}
	if (ioctl(fd, MASSTREE_IOC_BATCH, &b)) {
		int err = errno;

		if (b.done < n) {
			if (err == EEXIST && (opt.seen & O_NOEXIST)) {
				fprintf(stderr, "masstreectl: load: %s:%lu: key exists\n",
					file, recs[b.done].line);
				exit(EXIT_NO);
			}
			fail_errno(err, "%s:%lu: put", file, recs[b.done].line);
		}
		fail_errno(err, "batch");
	}
	free(ops);
}

static int cmd_load(char **argv)
{
	const char *file = argv[1];
	struct load_rec *recs = xmalloc(opt.batch * sizeof(*recs));
	unsigned long line = 0, loaded = 0;
	size_t n = 0, cap = 0, i;
	char *text = NULL, *tab;
	ssize_t len;
	FILE *f;
	int fd;

	f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!f)
		fail_errno(errno, "%s", file);
	fd = map_open(argv[0], MASSTREE_OPEN_WRITE);
	while ((len = getline(&text, &cap, f)) >= 0) {
		struct load_rec *r = &recs[n];

		line++;
		if (len && text[len - 1] == '\n')
			text[--len] = '\0';
		tab = memchr(text, '\t', len);
		if (!tab) {
			fprintf(stderr, "masstreectl: load: %s:%lu: no TAB between key and value\n",
				file, line);
			exit(EXIT_USAGE);
		}
		if (decode(text, tab - text, &r->key) ||
		    decode(tab + 1, text + len - tab - 1, &r->value)) {
			fprintf(stderr, "masstreectl: load: %s:%lu: bad escape or hex\n",
				file, line);
			exit(EXIT_USAGE);
		}
		if (r->key.len > MASSTREE_KEY_MAX ||
		    r->value.len > MASSTREE_VALUE_MAX) {
			fprintf(stderr, "masstreectl: load: %s:%lu: key or value too long\n",
				file, line);
			exit(EXIT_USAGE);
		}
		r->line = line;
		if (++n < opt.batch)
			continue;
		load_batch(fd, recs, n, file);
		loaded += n;
		for (i = 0; i < n; i++) {
			free(recs[i].key.p);
			free(recs[i].value.p);
		}
		n = 0;
	}
	if (ferror(f))
		fail_errno(errno, "%s", file);
	if (n)
		load_batch(fd, recs, n, file);
	loaded += n;
	if (json()) {
		json_open('{');
		json_u64("loaded", loaded);
		json_close('}');
	} else {
		printf("loaded %lu\n", loaded);
	}
	return 0;
}

static const struct command commands[] = {
	{ "create", cmd_create, 1, O_MODE, "[--mode MODE] NAME",
	  "Create the named map NAME, owned by the caller, with permission bits\n"
	  "MODE (octal, default 0600): read lets get, scan, dump and stats\n"
	  "through, write put, del, load and clear; cmpxchg needs both." },
	{ "destroy", cmd_destroy, 1, 0, "NAME",
	  "Destroy map NAME (owner or CAP_SYS_ADMIN). Descriptors still\n"
	  "attached get EIDRM from then on." },
	{ "list", cmd_list, 0, O_LONG, "[--long]",
	  "List the named maps, one name a line; with --long:\n"
	  "\"MODE UID GID KEYS BYTES NAME\". With --json: an array of\n"
	  "{name, mode, uid, gid, cuid, cgid, keys, bytes}." },
	{ "chmod", cmd_chmod, 2, 0, "NAME MODE",
	  "Set the permission bits of map NAME (octal, 0 to 0777)." },
	{ "chown", cmd_chown, 2, 0, "NAME USER[:GROUP] | NAME :GROUP",
	  "Set the owner and/or the group of map NAME: numeric ids, or names\n"
	  "from /etc/passwd and /etc/group." },
	{ "put", cmd_put, 3, O_NOEXIST | O_EXIST, "[--noexist|--exist] NAME KEY VALUE",
	  "Store VALUE under KEY. --noexist: only if KEY is absent (else exit 1);\n"
	  "--exist: only if KEY is present (else exit 1)." },
	{ "get", cmd_get, 2, 0, "NAME KEY",
	  "Print the value of KEY; exit 1 if KEY is absent. With --json:\n"
	  "{key, value}." },
	{ "del", cmd_del, 2, 0, "NAME KEY",
	  "Remove KEY; exit 1 if KEY is absent." },
	{ "cmpxchg", cmd_cmpxchg, 4, 0, "NAME KEY EXPECTED VALUE",
	  "Store VALUE under KEY if its value is EXPECTED; exit 1 if KEY is\n"
	  "absent or holds another value." },
	{ "scan", cmd_scan, 1, O_REVERSE | O_PREFIX | O_START | O_END |
	  O_START_EXCL | O_END_EXCL | O_LIMIT | O_KEYS,
	  "[--reverse] [--prefix P] [--start K] [--end K] [--limit N] NAME",
	  "Print the records of a range, \"KEY<TAB>VALUE\" a line, in increasing\n"
	  "key order (decreasing with --reverse).\n"
	  "  --start K, --end K  bound the range, inclusively (in reverse, --start\n"
	  "                      is the highest key); default: unbounded\n"
	  "  --start-excl        leave out a key equal to --start\n"
	  "  --end-excl          leave out a key equal to --end\n"
	  "  --prefix P, -P P    the keys that start with P (not with --start/--end)\n"
	  "  --limit N           at most N records\n"
	  "  --keys-only         print the keys alone\n"
	  "With --json: an array of {key, value} ({key} with --keys-only)." },
	{ "dump", cmd_dump, 1, O_TREE, "[--tree] NAME",
	  "Print every record of NAME, \"KEY<TAB>VALUE\" a line (what load\n"
	  "reads). --tree: print the node structure from debugfs instead\n"
	  "(root, debugfs mounted)." },
	{ "stats", cmd_stats, 1, 0, "NAME",
	  "Print the statistics of map NAME, \"FIELD VALUE\" a line. With\n"
	  "--json: one object, {name, keys, ..., batches, cuid, cgid}." },
	{ "load", cmd_load, 2, O_NOEXIST | O_BATCH, "[--noexist] [--batch N] NAME FILE",
	  "Store the records of FILE (\"-\": standard input), one\n"
	  "\"KEY<TAB>VALUE\" a line, through BATCH commands of N puts (default\n"
	  "256, at most 1024). Stops at the first failure, naming its line;\n"
	  "earlier records stay stored. --noexist: fail (exit 1) on a key that\n"
	  "is present. Prints \"loaded COUNT\"." },
	{ "clear", cmd_clear, 1, 0, "NAME",
	  "Remove every key of NAME; prints \"cleared COUNT\"." },
};

static void print_help(FILE *f, const struct command *c)
{
	fprintf(f, "usage: masstreectl [GLOBAL OPTIONS] %s %s\n\n%s\n",
		c->name, c->synopsis, c->help);
}

static int main_help(FILE *f, int status)
{
	size_t i;

	fprintf(f,
		"usage: masstreectl [GLOBAL OPTIONS] COMMAND [OPTIONS] ARGS...\n"
		"       masstreectl COMMAND --help\n"
		"       masstreectl --version\n\n"
		"Commands (any unique prefix will do):\n");
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].synopsis);
	fprintf(f,
		"\nGlobal options, before or after COMMAND:\n"
		"  -x, --hex          keys and values as hex digits\n"
		"  -j, --json         JSON output (list, stats, get, scan, dump, load, clear)\n"
		"  -p, --pretty       indented JSON output (implies --json)\n"
		"  -d, --device PATH  the device (default /dev/masstree)\n\n"
		"Keys and values are text with the escapes \\\\ \\n \\t \\r \\0 \\xHH,\n"
		"or hex digits with --hex; output uses the same form. Put \"--\"\n"
		"before a key that starts with '-'. See masstreectl(8).\n\n"
		"Exit status: 0 success; 1 key absent, key present (put --noexist) or\n"
		"value differs (cmpxchg); 2 usage error; 3 any other error.\n");
	return status;
}

static const char *opt_name(int c)
{
	const struct option *o;

	for (o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/* Parse options into opt; with @stop, stop at the first non-option. */
static void parse_opts(int argc, char **argv, bool stop)
{
	char shorts[sizeof(short_opts) + 1];
	int c;

	snprintf(shorts, sizeof(shorts), "%s%s", stop ? "+" : "", short_opts);
	while ((c = getopt_long(argc, argv, shorts, long_opts, NULL)) != -1) {
		unsigned int bit;

		switch (c) {
		case 'x':
			bit = O_HEX;
			break;
		case 'm':
			bit = O_MODE;
			opt.mode = parse_num("mode", optarg, 8, 0777);
			break;
		case 'n':
			bit = O_NOEXIST;
			break;
		case 'e':
			bit = O_EXIST;
			break;
		case 'r':
			bit = O_REVERSE;
			break;
		case 'P':
			bit = O_PREFIX;
			opt.prefix = optarg;
			break;
		case 's':
			bit = O_START;
			opt.start = optarg;
			break;
		case 'E':
			bit = O_END;
			opt.end = optarg;
			break;
		case 'S':
			bit = O_START_EXCL;
			break;
		case 'X':
			bit = O_END_EXCL;
			break;
		case 'l':
			bit = O_LIMIT;
			opt.limit = parse_num("limit", optarg, 10, ULLONG_MAX);
			break;
		case 'k':
			bit = O_KEYS;
			break;
		case 'L':
			bit = O_LONG;
			break;
		case 'T':
			bit = O_TREE;
			break;
		case 'b':
			bit = O_BATCH;
			opt.batch = parse_num("batch size", optarg, 10,
					      MASSTREE_BATCH_MAX);
			if (!opt.batch)
				usage_exit("bad batch size '0'");
			break;
		case 'd':
			bit = O_DEVICE;
			opt.device = optarg;
			break;
		case 'h':
			bit = O_HELP;
			break;
		case 'j':
			bit = O_JSON;
			break;
		case 'p':
			bit = O_PRETTY;
			break;
		case 'V':
			bit = O_VERSION;
			break;
		default:
			usage_exit("bad option");
		}
		if (cmd && !(bit & (cmd->opts | O_GLOBAL)))
			usage_exit("option --%s does not apply", opt_name(c));
		opt.seen |= bit;
	}
}

/*
 * The command @name names: its full name, or a prefix of exactly one
 * command's name (as ip(8) takes "ip a"); exits with a usage error if
 * none or several match.
 */
static const struct command *find_command(const char *name)
{
	const struct command *found = NULL;
	size_t i, len = strlen(name);
	int matches = 0;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	for (i = 0; len && i < ARRAY_SIZE(commands); i++) {
		if (!strncmp(name, commands[i].name, len)) {
			found = &commands[i];
			matches++;
		}
	}
	if (matches == 1)
		return found;
	if (!matches)
		usage_exit("unknown command '%s'", name);
	fprintf(stderr, "masstreectl: ambiguous command '%s': it could be", name);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strncmp(name, commands[i].name, len))
			fprintf(stderr, " %s", commands[i].name);
	fprintf(stderr, "\nTry 'masstreectl --help'.\n");
	exit(EXIT_USAGE);
}

int main(int argc, char **argv)
{
	int nargs;

	opterr = 1;
	parse_opts(argc, argv, true);
	if (opt.seen & O_VERSION) {
		printf("masstreectl %s\n", MASSTREE_VERSION);
		return 0;
	}
	if (optind == argc) {
		if (opt.seen & O_HELP)
			return main_help(stdout, 0);
		return main_help(stderr, EXIT_USAGE);
	}
	if (!strcmp(argv[optind], "help")) {
		if (optind + 1 == argc)
			return main_help(stdout, 0);
		argv[optind] = argv[optind + 1];
		opt.seen |= O_HELP;
		argc = optind + 1;
	}
	cmd = find_command(argv[optind]);
	/* Parse the command's own options: argv from the command name on. */
	argv += optind;
	argc -= optind;
	optind = 0;	/* 0, not 1: getopt starts afresh, in permuting mode */
	parse_opts(argc, argv, false);
	if (opt.seen & O_HELP) {
		print_help(stdout, cmd);
		return 0;
	}
	nargs = argc - optind;
	if (nargs != cmd->nargs)
		usage_exit("%d argument%s expected, %d given: %s", cmd->nargs,
			   cmd->nargs == 1 ? "" : "s", nargs, cmd->synopsis);
	return cmd->run(argv + optind);
}
