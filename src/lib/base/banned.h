/*
 * Functions that are easy to misuse with hostile input are compile errors in
 * the library (idea from git's banned.h): unbounded copies, non-reentrant time
 * functions and the racy mktemp.
 */
#ifndef C2C_BANNED_H
#define C2C_BANNED_H

#define C2C_BANNED(f) sorry_##f##_is_banned_in_ckpt2core

#undef strcpy
#define strcpy(x, y) C2C_BANNED(strcpy)
#undef strcat
#define strcat(x, y) C2C_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) C2C_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) C2C_BANNED(strncat)
#undef sprintf
#define sprintf(...) C2C_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) C2C_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) C2C_BANNED(strtok)
#undef gmtime
#define gmtime(t) C2C_BANNED(gmtime)
#undef localtime
#define localtime(t) C2C_BANNED(localtime)
#undef ctime
#define ctime(t) C2C_BANNED(ctime)
#undef asctime
#define asctime(t) C2C_BANNED(asctime)
#undef mktemp
#define mktemp(x) C2C_BANNED(mktemp)

#endif /* C2C_BANNED_H */
