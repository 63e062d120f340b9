/*
 * confdoc.c — writes the documents made from the config key table
 * (core/config_keys.def), so none of them can drift from the parser:
 *
 *   rv_confdoc example server|client   conf/<role>.conf.example
 *   rv_confdoc man TEMPLATE            a man page in scdoc: TEMPLATE with its
 *                                      "@KEYS@" line replaced by the keys and
 *                                      "@EXITCODES@" by the exit code table
 *   rv_confdoc keys server|client      "name<TAB>syntax" per key (for tests)
 *   rv_confdoc exits                   the exit code table as the README has
 *                                      it (Markdown rows, for tests)
 *
 * Built by CMake (doc/CMakeLists.txt); scripts/confdoc.sh --fix rewrites the
 * example files and test/check-confdoc.sh compares them.
 */
#include <stdio.h>
#include <string.h>

#include "cli/exit.h"
#include "core/config.h"

enum { WRAP = 76 };

/* wrap_comment prints |text| as "# "-prefixed lines of at most WRAP columns. */
static void wrap_comment(const char *text)
{
	size_t col = 0;

	for (const char *p = text; *p;) {
		size_t w;

		while (*p == ' ') {
			p++;
		}
		w = strcspn(p, " ");
		if (w == 0) {
			break;
		}
		if (col > 0 && col + 1 + w > WRAP) {
			putchar('\n');
			col = 0;
		}
		if (col == 0) {
			fputs("#", stdout);
			col = 1;
		}
		printf(" %.*s", (int)w, p);
		col += 1 + w;
		p += w;
	}
	if (col) {
		putchar('\n');
	}
}

static int parse_role(const char *s, enum rv_config_role *out)
{
	if (!strcmp(s, "server")) {
		*out = RV_CONFIG_SERVER;
	} else if (!strcmp(s, "client")) {
		*out = RV_CONFIG_CLIENT;
	} else {
		fprintf(stderr, "rv_confdoc: role must be server or client, not '%s'\n", s);
		return -1;
	}
	return 0;
}

static void example_header(enum rv_config_role role)
{
	const char *r = rv_config_role_name(role);

	printf("# ringvpn %s configuration — `ringvpn %s -c /etc/ringvpn/%s.conf`\n", r, r, r);
	printf("#\n");
	wrap_comment("Format: one `key = value` per line; a `#` at the start of a line or after a "
		     "blank starts a comment. Durations take a "
		     "unit: 500ms, 10s (the default unit), 2m. Every key can also be given as a "
		     "command-line flag that overrides this file, with '_' written '-'.");
	printf("# `ringvpn %s -c FILE -n` checks the file and the certificates, then exits.\n", r);
	wrap_comment("Keys marked (restart) take effect only when the service restarts; a "
		     "reload (`systemctl reload`, SIGHUP) applies the others.");
	printf("#\n");
	wrap_comment("This file is generated from core/config_keys.def, like ringvpn.conf(5) "
		     "and --help (scripts/confdoc.sh --fix); edit the table, not this file.");
}

static int cmd_example(enum rv_config_role role)
{
	int section = -1;

	example_header(role);
	for (size_t i = 0; i < rv_config_num_keys(); i++) {
		const struct rv_config_key *k = rv_config_key_at(i);
		const char *val = k->example ? k->example : k->def;
		char v[512], line[1024];
		bool commented = false;

		if (!(k->roles & role)) {
			continue;
		}
		if ((int)k->section != section) {
			section = (int)k->section;
			snprintf(line, sizeof(line), "# --- %s ",
				 rv_config_section_title(k->section));
			printf("\n%s", line);
			for (size_t n = strlen(line); n < WRAP + 2; n++) {
				putchar('-');
			}
			putchar('\n');
		} else {
			putchar('\n');
		}
		wrap_comment(k->doc);
		snprintf(line, sizeof(line), "%s%s%s", k->syntax,
			 k->flags & RV_CONFIG_KEY_REPEAT ? " (repeatable)" : "",
			 k->flags & RV_CONFIG_KEY_RESTART ? " (restart)" : "");
		printf("# Value: %s.", line);
		if (k->def) {
			rv_config_expand(v, sizeof(v), k->def, role);
			printf(" Default: %s.", v);
		} else if (k->flags & RV_CONFIG_KEY_REQUIRED) {
			printf(" Required.");
		}
		putchar('\n');
		if (!val) {
			continue;
		}
		if (val[0] == '#') {
			commented = true;
			val++;
		}
		rv_config_expand(v, sizeof(v), val, role);
		printf("%s%s = %s\n", commented ? "#" : "", k->name, v);
	}
	return 0;
}

/* man_escape prints |s| with scdoc's markup characters escaped. */
static void man_escape(const char *s)
{
	for (; *s; s++) {
		if (*s == '*' || *s == '_' || *s == '\\') {
			putchar('\\');
		}
		putchar(*s);
	}
}

static void man_keys(void)
{
	for (int sec = 0; sec < RV_CONFIG_NUM_SECTIONS; sec++) {
		bool heading = false;

		for (size_t i = 0; i < rv_config_num_keys(); i++) {
			const struct rv_config_key *k = rv_config_key_at(i);
			char v[512];

			if ((int)k->section != sec) {
				continue;
			}
			if (!heading) {
				const char *t = rv_config_section_title(k->section);

				printf("## ");
				for (const char *p = t; *p; p++) {
					putchar(p == t ? (char)(*p - 'a' + 'A') : *p);
				}
				printf("\n\n");
				heading = true;
			}
			printf("*");
			man_escape(k->name);
			printf("* = _");
			man_escape(k->syntax);
			printf("_\n\tRole: %s. ", k->roles == RV_CONFIG_SERVER ? "server"
						  : k->roles == RV_CONFIG_CLIENT
							  ? "client"
							  : "server and client");
			if (k->def) {
				if (strstr(k->def, "{role}")) {
					rv_config_expand(v, sizeof(v), k->def, RV_CONFIG_SERVER);
					printf("Default: ");
					man_escape(v);
					printf(" (server), ");
					rv_config_expand(v, sizeof(v), k->def, RV_CONFIG_CLIENT);
					man_escape(v);
					printf(" (client). ");
				} else {
					printf("Default: ");
					man_escape(k->def);
					printf(". ");
				}
			} else if (k->flags & RV_CONFIG_KEY_REQUIRED) {
				printf("Required. ");
			}
			if (k->flags & RV_CONFIG_KEY_REPEAT) {
				printf("Repeatable. ");
			}
			printf("%s\n\n\t", k->flags & RV_CONFIG_KEY_RESTART
						   ? "A change takes effect on restart."
						   : "A reload applies a change.");
			man_escape(k->doc);
			printf("\n\n");
		}
	}
}

static const struct {
	const char *name;
	int code;
	bool orig;
	const char *meaning;
} exits[] = {
#define RV_EXIT_ROW(name, code, orig, meaning) { #name, code, orig, meaning },
	RV_EXIT_CODES(RV_EXIT_ROW)
#undef RV_EXIT_ROW
};

/* man_exits prints the exit codes as an scdoc list. */
static void man_exits(void)
{
	for (size_t i = 0; i < sizeof(exits) / sizeof(exits[0]); i++) {
		printf("*%d*\n\t", exits[i].code);
		for (const char *p = exits[i].meaning; *p; p++) {
			if (*p != '`') {
				putchar(*p);
			}
		}
		printf("%s\n\n", exits[i].orig ? " (as in the original design)" : "");
	}
}

static int cmd_exits(void)
{
	for (size_t i = 0; i < sizeof(exits) / sizeof(exits[0]); i++) {
		printf("| %d | `RV_EXIT_%s` | %s | %s |\n", exits[i].code, exits[i].name,
		       exits[i].meaning, exits[i].orig ? "yes" : "");
	}
	return 0;
}

static int cmd_man(const char *template)
{
	char line[4096];
	bool done = false;
	FILE *f = fopen(template, "r");

	if (!f) {
		perror(template);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strcmp(line, "@KEYS@\n")) {
			man_keys();
			done = true;
		} else if (!strcmp(line, "@EXITCODES@\n")) {
			man_exits();
			done = true;
		} else {
			fputs(line, stdout);
		}
	}
	fclose(f);
	if (!done) {
		fprintf(stderr, "rv_confdoc: %s has no @KEYS@ or @EXITCODES@ line\n", template);
		return 1;
	}
	return 0;
}

static int cmd_keys(enum rv_config_role role)
{
	for (size_t i = 0; i < rv_config_num_keys(); i++) {
		const struct rv_config_key *k = rv_config_key_at(i);

		if (k->roles & role) {
			printf("%s\t%s\n", k->name, k->syntax);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum rv_config_role role;

	if (argc == 3 && !strcmp(argv[1], "man")) {
		return cmd_man(argv[2]);
	}
	if (argc == 2 && !strcmp(argv[1], "exits")) {
		return cmd_exits();
	}
	if (argc == 3 && !parse_role(argv[2], &role)) {
		if (!strcmp(argv[1], "example")) {
			return cmd_example(role);
		}
		if (!strcmp(argv[1], "keys")) {
			return cmd_keys(role);
		}
	}
	fprintf(stderr, "usage: rv_confdoc example|keys server|client | man TEMPLATE | exits\n");
	return 2;
}
