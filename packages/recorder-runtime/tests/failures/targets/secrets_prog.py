# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""G1: secret-looking names in locals, args, globals, attributes and returns.

The canary value must not reach any byte under the output directory, nor stderr. The
program never prints a secret itself (printed output is a separate leak path, issue 9).
"""

# The canary only ever lives in secret-looking names (copies into innocent names are the
# separate leak paths of issue 9 / G3).
api_key = "CANARY-5ecr3t-" + "9f1c2e"


class Config:
    def __init__(self, secret):
        self.password = secret
        self.host = "example.org"


def login(user, password):
    token = password + ""
    access_token = token
    return len(access_token)


def get_secret():
    secret = api_key
    return secret


def main():
    cfg = Config(api_key)
    passwd = api_key
    n = login("alice", passwd)
    print("lengths", n, len(get_secret()), len(passwd), cfg.host)


main()
