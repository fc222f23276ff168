"""Nothing the runtime can serve."""


def main(x):
    return x
