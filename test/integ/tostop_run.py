#!/usr/bin/env python3
"""tostop_run.py OUT SECONDS CMD...: run CMD in a background process group of
a new terminal session whose terminal has `stty tostop` set, so that a write
of CMD to the terminal sends it SIGTTOU; CMD's stdin, stdout and stderr are
the terminal. Writes CMD's PID to OUT.pid, each stop, continue and its end
("stopped by signal N", "ended CODE") to OUT, and what CMD wrote to OUT.tty,
for SECONDS or until CMD ends. Used by test_systemd.sh."""
import fcntl
import os
import pty
import sys
import termios
import time

out, seconds, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
master, slave = pty.openpty()
leader = os.fork()
if leader == 0:
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    attrs = termios.tcgetattr(slave)
    attrs[3] |= termios.TOSTOP
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    child = os.fork()
    if child == 0:
        os.setpgid(0, 0)  # a background group: not the terminal's foreground
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.execvp(cmd[0], cmd)
    with open(out + ".pid", "w") as f:
        f.write(str(child))
    while True:
        _, status = os.waitpid(child, os.WUNTRACED | os.WCONTINUED)
        with open(out, "a") as f:
            if os.WIFSTOPPED(status):
                f.write("stopped by signal %d\n" % os.WSTOPSIG(status))
            elif os.WIFCONTINUED(status):
                f.write("continued\n")
            else:
                f.write("ended %d\n" % os.waitstatus_to_exitcode(status))
                break
    os._exit(0)
os.close(slave)
os.set_blocking(master, False)
end = time.time() + seconds
tty = b""
while time.time() < end:
    try:
        data = os.read(master, 65536)
    except BlockingIOError:
        if os.waitpid(leader, os.WNOHANG)[0] == leader:
            break
        time.sleep(0.05)
        continue
    except OSError:
        break  # the terminal's last holder is gone
    tty += data
with open(out + ".tty", "wb") as f:
    f.write(tty)
