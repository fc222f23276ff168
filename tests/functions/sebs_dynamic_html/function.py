"""The shape of SeBS's 110.dynamic-html: render a page of random numbers for a user.

The template is read from beside the module on every call, as SeBS does.
"""

import os
from datetime import datetime
from random import sample

from jinja2 import Template

HERE = os.path.dirname(os.path.abspath(__file__))


def handler(event):
    username = event.get("username")
    count = event.get("random_len")
    with open(os.path.join(HERE, "templates", "template.html")) as source:
        template = Template(source.read())
    numbers = sample(range(1_000_000), count)
    page = template.render(username=username, cur_time=datetime.now(), random_numbers=numbers)
    return {"result": page}
