#!/usr/bin/python3
"""Checks a user name and password with PAM for Ganymede's `pam` authenticator.

Uses pamela, the PAM binding JupyterHub's own PAMAuthenticator uses (Debian: python3-pamela, a
dependency of the jupyterhub package), so no native Node module has to be built. The request comes
on stdin as JSON -- never on the command line, where `ps` would show the password:
  {"service": "login", "username": "...", "password": "...", "check_account": true}
The answer is one JSON line on stdout:
  {"ok": true, "groups": ["users", ...]}   or   {"ok": false, "reason": "..."}
"""
import grp
import json
import os
import pwd
import sys

import pamela


def groups_of(username):
    try:
        entry = pwd.getpwnam(username)
    except KeyError:
        return []
    names = []
    for gid in os.getgrouplist(username, entry.pw_gid):
        try:
            names.append(grp.getgrgid(gid).gr_name)
        except KeyError:
            pass
    return names


def main():
    request = json.load(sys.stdin)
    username = request["username"]
    service = request.get("service") or "login"
    try:
        pamela.authenticate(username, request["password"], service=service)
        if request.get("check_account", True):
            pamela.check_account(username, service=service)
    except pamela.PAMError as error:
        print(json.dumps({"ok": False, "reason": str(error)}))
        return
    print(json.dumps({"ok": True, "groups": groups_of(username)}))


if __name__ == "__main__":
    main()
