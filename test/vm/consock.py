# A console socket for the VM's checkpoint checks, as an engine holds one:
# listen on PATH, take the pty master sent with SCM_RIGHTS, and copy what the
# container writes to its terminal into OUT until the pty goes away.
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
conn, _ = srv.accept()
_, fds, _, _ = socket.recv_fds(conn, 4096, 4)
conn.close()
with open(out, 'ab', buffering=0) as f:
    f.write(b'master %d\n' % len(fds))
    while fds:
        try:
            data = os.read(fds[0], 4096)
        except OSError:
            break
        if not data:
            break
        f.write(data)
