"""placeholder"""

SUPPLY_PAGE_HANDLERS: list = []
