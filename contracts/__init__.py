"""What crosses a boundary of Interdict, typed once. This package imports nothing of the
project; every stage may import it."""
