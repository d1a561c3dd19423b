# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""G1: secret-looking names in locals, args, globals, attributes and returns.

The canary value must not reach any byte under the output directory, nor stderr. The
program never prints a secret itself (printed output is a separate leak path, issue 9).
"""

CANARY = "CANARY-5ecr3t-" + "9f1c2e"
api_key = CANARY


class Config:
    def __init__(self, secret):
        self.password = secret
        self.host = "example.org"


def login(user, password):
    token = password + ""
    access_token = token
    return len(access_token)


def get_secret():
    secret = CANARY
    return secret


def main():
    cfg = Config(CANARY)
    passwd = CANARY
    n = login("alice", CANARY)
    s = get_secret()
    print("lengths", n, len(s), len(passwd), cfg.host)


main()
