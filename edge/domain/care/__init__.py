"""Care services: the other half of a centre's day (助餐, 送餐, 助浴, 陪诊, 陪聊, 代购, day care).

`catalog` (what the centre offers), `recipients` (elders and their families),
`providers` (staff, volunteers, outside organisations), `bookings` (one visit,
its forward-only status and who moved it), `clashes`, `recurring` (a weekday
pattern over dates), `roster` (a day's visits), `daycare` (check-in, lunch
count), `statement` (month end) and `commands` (what the hub asks the centre
to do). No web imports: pages and API call these.
"""
