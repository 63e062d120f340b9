/*
 * cmds.h — the subcommands main.c dispatches to. Each takes the arguments
 * after the subcommand name (argv[0] is the subcommand) and returns an exit
 * code from cli/exit.h.
 */
#ifndef RV_CLI_CMDS_H
#define RV_CLI_CMDS_H

int rv_cmd_server(int argc, char **argv);    /* server.c */
int rv_cmd_client(int argc, char **argv);    /* client.c */
int rv_cmd_status(int argc, char **argv);    /* mgmt.c */
int rv_cmd_kick(int argc, char **argv);	     /* mgmt.c */
int rv_cmd_rekey(int argc, char **argv);     /* mgmt.c */
int rv_cmd_reload(int argc, char **argv);    /* mgmt.c */
int rv_cmd_log_level(int argc, char **argv); /* mgmt.c */
int rv_cmd_pki(int argc, char **argv);	     /* pki.c */

/* rv_cli_output_failed records why a write to stdout failed (errno), for
 * the message at exit (main.c), where errno no longer says. */
void rv_cli_output_failed(int err);

#endif /* RV_CLI_CMDS_H */
