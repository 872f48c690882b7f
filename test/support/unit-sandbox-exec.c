/*
 * The last step of test/support/unit-sandbox.ts: run as the service's user
 * (setpriv has set the ids, no_new_privs and no capabilities), it applies
 * the unit's umask and working directory and loads the seccomp filters that
 * systemd 252 loads for the unit's directives, then executes the service.
 * Each filter mirrors systemd's src/shared/seccomp-util.c for its directive.
 *
 *   unit-sandbox-exec [umask=0027] [chdir=DIR] [allow=ERRNO:name,name,...]
 *                     [deny=ERRNO:name,...] [suidsgid] [namespaces] [realtime]
 *                     [personality] [families=1,2,10] -- PROGRAM ARGS...
 *
 * Built by the test with gcc against the machine's libseccomp.so.2 (its
 * headers are not installed: the few declarations used are below, from
 * libseccomp 2.5's seccomp.h). A filter that cannot be built stops the run:
 * the service must not start less confined than the unit says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef void *scmp_filter_ctx;
typedef uint64_t scmp_datum_t;
enum scmp_compare { SCMP_CMP_NE = 1, SCMP_CMP_LT = 2, SCMP_CMP_LE = 3, SCMP_CMP_EQ = 4, SCMP_CMP_GE = 5, SCMP_CMP_GT = 6, SCMP_CMP_MASKED_EQ = 7 };
struct scmp_arg_cmp { unsigned int arg; enum scmp_compare op; scmp_datum_t datum_a; scmp_datum_t datum_b; };
extern scmp_filter_ctx seccomp_init(uint32_t def_action);
extern int seccomp_rule_add(scmp_filter_ctx ctx, uint32_t action, int syscall, unsigned int arg_cnt, ...);
extern int seccomp_syscall_resolve_name(const char *name);
extern int seccomp_load(scmp_filter_ctx ctx);
extern void seccomp_release(scmp_filter_ctx ctx);
#define SCMP_ACT_ALLOW 0x7fff0000U
#define SCMP_ACT_ERRNO(x) (0x00050000U | ((x) & 0x0000ffffU))
#define A(n, op, a, b) ((struct scmp_arg_cmp){ (n), (op), (a), (b) })

static void die(const char *what, const char *detail) {
  fprintf(stderr, "unit-sandbox-exec: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(127);
}

static int nr(const char *name) {
  int n = seccomp_syscall_resolve_name(name);
  if (n == -1) die("unknown system call", name);
  return n;
}

static void add(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned int count, struct scmp_arg_cmp a, struct scmp_arg_cmp b) {
  int r = count == 0 ? seccomp_rule_add(ctx, action, nr(name), 0)
        : count == 1 ? seccomp_rule_add(ctx, action, nr(name), 1, a)
        : seccomp_rule_add(ctx, action, nr(name), 2, a, b);
  if (r < 0) { errno = -r; die("could not add a rule for", name); }
}

static void load(scmp_filter_ctx ctx, const char *what) {
  int r = seccomp_load(ctx);
  if (r < 0) { errno = -r; die("could not load the filter", what); }
  seccomp_release(ctx);
}

static int errno_of(const char *spec, const char **rest) {
  const char *colon = strchr(spec, ':');
  if (!colon) die("expected ERRNO:names in", spec);
  *rest = colon + 1;
  if (!strncmp(spec, "EPERM:", 6)) return EPERM;
  if (!strncmp(spec, "EACCES:", 7)) return EACCES;
  if (!strncmp(spec, "ENOSYS:", 7)) return ENOSYS;
  die("unsupported errno in", spec);
  return 0;
}

/* SystemCallFilter= as an allow list: every other call fails with the errno. */
static void allow_list(const char *spec) {
  const char *names;
  int err = errno_of(spec, &names);
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(err));
  char *copy = strdup(names), *save = NULL;
  for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
    int n = seccomp_syscall_resolve_name(name);
    /* Names of other architectures or newer kernels: systemd skips them too. */
    if (n == -1) continue;
    int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, n, 0);
    if (r < 0 && r != -EDOM && r != -EEXIST) { errno = -r; die("could not allow", name); }
  }
  free(copy);
  load(ctx, "allow list");
}

/* A deny list (ProtectClock's @clock, ProtectKernelLogs' syslog, ...). */
static void deny_list(const char *spec) {
  const char *names;
  int err = errno_of(spec, &names);
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  char *copy = strdup(names), *save = NULL;
  for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
    int n = seccomp_syscall_resolve_name(name);
    if (n == -1) continue;
    int r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), n, 0);
    if (r < 0 && r != -EDOM && r != -EEXIST) { errno = -r; die("could not deny", name); }
  }
  free(copy);
  load(ctx, "deny list");
}

/* RestrictSUIDSGID=yes: no file made or changed to setuid or setgid. */
static void suid_sgid(void) {
  static const struct { const char *name; unsigned mode_arg; int flags_arg; } calls[] = {
    { "chmod", 1, -1 }, { "fchmod", 1, -1 }, { "fchmodat", 2, -1 }, { "mkdir", 1, -1 }, { "mkdirat", 2, -1 },
    { "mknod", 1, -1 }, { "mknodat", 2, -1 }, { "creat", 1, -1 }, { "open", 2, 1 }, { "openat", 3, 2 },
  };
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i += 1) {
    for (int bit = 0; bit < 2; bit += 1) {
      scmp_datum_t m = bit ? S_ISGID : S_ISUID;
      struct scmp_arg_cmp mode = A(calls[i].mode_arg, SCMP_CMP_MASKED_EQ, m, m);
      if (calls[i].flags_arg < 0) {
        add(ctx, SCMP_ACT_ERRNO(EPERM), calls[i].name, 1, mode, mode);
      } else {
        add(ctx, SCMP_ACT_ERRNO(EPERM), calls[i].name, 2, A(calls[i].flags_arg, SCMP_CMP_MASKED_EQ, O_CREAT, O_CREAT), mode);
        add(ctx, SCMP_ACT_ERRNO(EPERM), calls[i].name, 2, A(calls[i].flags_arg, SCMP_CMP_MASKED_EQ, O_TMPFILE, O_TMPFILE), mode);
      }
    }
  }
  /* Its mode is behind a pointer: systemd answers ENOSYS, and callers fall back to openat. */
  add(ctx, SCMP_ACT_ERRNO(ENOSYS), "openat2", 0, A(0, 0, 0, 0), A(0, 0, 0, 0));
  load(ctx, "RestrictSUIDSGID");
}

/* RestrictNamespaces=yes: no namespace of any kind. */
static void namespaces(void) {
  static const scmp_datum_t flags[] = { 0x00020000 /* NEWNS */, 0x02000000 /* NEWCGROUP */, 0x04000000 /* NEWUTS */, 0x08000000 /* NEWIPC */,
                                        0x10000000 /* NEWUSER */, 0x20000000 /* NEWPID */, 0x40000000 /* NEWNET */, 0x00000080 /* NEWTIME */ };
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  /* clone3's flags are behind a pointer: ENOSYS, so glibc falls back to clone. */
  add(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, A(0, 0, 0, 0), A(0, 0, 0, 0));
  add(ctx, SCMP_ACT_ERRNO(EPERM), "setns", 0, A(0, 0, 0, 0), A(0, 0, 0, 0));
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i += 1) {
    struct scmp_arg_cmp f = A(0, SCMP_CMP_MASKED_EQ, flags[i], flags[i]);
    add(ctx, SCMP_ACT_ERRNO(EPERM), "unshare", 1, f, f);
    add(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, f, f);
  }
  load(ctx, "RestrictNamespaces");
}

/* RestrictRealtime=yes: only SCHED_OTHER, SCHED_BATCH and SCHED_IDLE. */
static void realtime(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  for (scmp_datum_t p = 1; p <= 4; p += 1) {
    if (p == 3) continue; /* SCHED_BATCH */
    struct scmp_arg_cmp c = A(1, SCMP_CMP_EQ, p, 0);
    add(ctx, SCMP_ACT_ERRNO(EPERM), "sched_setscheduler", 1, c, c);
  }
  struct scmp_arg_cmp above = A(1, SCMP_CMP_GT, 5 /* SCHED_IDLE */, 0);
  add(ctx, SCMP_ACT_ERRNO(EPERM), "sched_setscheduler", 1, above, above);
  load(ctx, "RestrictRealtime");
}

/* LockPersonality=yes: personality() may only name PER_LINUX (systemd 252 refuses even the query). */
static void personality(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  struct scmp_arg_cmp other = A(0, SCMP_CMP_NE, 0 /* PER_LINUX */, 0);
  add(ctx, SCMP_ACT_ERRNO(EPERM), "personality", 1, other, other);
  load(ctx, "LockPersonality");
}

/* RestrictAddressFamilies=: socket() of another family fails with EAFNOSUPPORT. */
static void families(const char *spec) {
  int allowed[64] = { 0 };
  char *copy = strdup(spec), *save = NULL;
  for (char *f = strtok_r(copy, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
    int n = atoi(f);
    if (n <= 0 || n >= 64) die("bad address family", f);
    allowed[n] = 1;
  }
  free(copy);
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  for (scmp_datum_t af = 0; af < 64; af += 1) {
    if (allowed[af]) continue;
    struct scmp_arg_cmp c = A(0, SCMP_CMP_EQ, af, 0);
    add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, c, c);
  }
  struct scmp_arg_cmp above = A(0, SCMP_CMP_GE, 64, 0);
  add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), "socket", 1, above, above);
  load(ctx, "RestrictAddressFamilies");
}

int main(int argc, char **argv) {
  int i = 1;
  const char *allow = NULL;
  for (; i < argc && strcmp(argv[i], "--"); i += 1) {
    const char *a = argv[i];
    if (!strncmp(a, "umask=", 6)) umask((mode_t)strtol(a + 6, NULL, 8));
    else if (!strncmp(a, "chdir=", 6)) { if (chdir(a + 6)) die("WorkingDirectory", strerror(errno)); }
    /* Last: the calls that load the other filters need not be on it. */
    else if (!strncmp(a, "allow=", 6)) allow = a + 6;
    else if (!strncmp(a, "deny=", 5)) deny_list(a + 5);
    else if (!strcmp(a, "suidsgid")) suid_sgid();
    else if (!strcmp(a, "namespaces")) namespaces();
    else if (!strcmp(a, "realtime")) realtime();
    else if (!strcmp(a, "personality")) personality();
    else if (!strncmp(a, "families=", 9)) families(a + 9);
    else die("unknown option", a);
  }
  if (i + 1 >= argc) die("no program after --", NULL);
  if (allow) allow_list(allow);
  execv(argv[i + 1], argv + i + 1);
  die("could not execute", strerror(errno));
  return 127;
}
