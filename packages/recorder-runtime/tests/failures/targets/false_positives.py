# ruff: noqa  (target program: written to provoke the recorder, not to be linted)
"""G2: innocent names that a naive secret pattern would redact must stay visible."""


def main():
    company = "VISIBLE-company"
    span = "VISIBLE-span"
    expand = "VISIBLE-expand"
    passenger = "VISIBLE-passenger"
    author = "VISIBLE-author"
    classname = "VISIBLE-classname"
    print("ok", len(company + span + expand + passenger + author + classname))


main()
