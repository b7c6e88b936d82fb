/* what the files of phx-unit share */
#ifndef UNIT_H
#define UNIT_H

void unit_ok(int cond, const char *name);
void unit_is(const char *got, const char *want, const char *name);
void test_podman(const char *dir);   /* podman.c */
void test_kube(const char *dir);     /* kube.c */

#endif
