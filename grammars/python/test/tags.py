"""Module docstring."""
# Assertions point with a caret at a column of the nearest line above that is not an assertion:
# `^ kind` means a tag of that kind has its name there; `^ !kind` means none does.

import os.path
#      ^ reference.module
import numpy as np
#      ^ reference.module
from .models import Model, helper as h
#    ^ reference.module
#                   ^ reference.import
#                          ^ reference.import
from .. import sibling
#    ^ reference.module
#              ^ reference.import

MAX_SIZE = 10
# <- definition.constant
_PRIVATE_LIMIT: int = 3
# <- definition.constant
default_name = "x"
# <- definition.variable
LEFT, right = 1, 2
# <- definition.constant
#     ^ definition.variable


def top_level(a, b=None):
#   ^ definition.function
    """Add things.

    More detail.
    """
    def nested():
    #   ^ definition.function
        return os.path.join(a, b)
        #              ^ reference.call
    local = nested()
    # <- !definition.variable
    #       ^ reference.call
    return local


class Base(object):
#     ^ definition.class
#          ^ reference.class
    pass


class Widget(Base, mixins.Renderable, metaclass=Meta):
#     ^ definition.class
#            ^ reference.class
#                         ^ reference.class
#                                               ^ !reference.class
    '''A widget.'''

    color = "red"
    # <- definition.field
    MAX_WIDTH: int = 80
    # <- definition.field

    def __init__(self, size):
    #   ^ definition.function
        self.size = size
        # <- !definition.field

    @property
    #^ reference.decorator
    def area(self):
    #   ^ definition.function
        return compute(self.size)
        #      ^ reference.call

    @app.route("/draw")
    #    ^ reference.decorator
    #    ^ !reference.call
    async def draw(self):
    #         ^ definition.function
        r"""Raw docstring."""
        await self.canvas.paint(self)
        #                 ^ reference.call

    class Inner:
    #     ^ definition.class
        def deep(self):
        #   ^ definition.function
            pass


if __name__ == "__main__":
    CONFIG = load()
    # <- !definition.constant
    #        ^ reference.call
    top_level(1)
    # <- reference.call
