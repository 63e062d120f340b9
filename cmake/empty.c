/* empty.c — placeholder translation unit so a module library exists before its first source file. */
typedef int rv_empty_tu;
