"""Tools around the server: the capture reader (``capture``) and what ``fastdhcp dump`` shows
of it (``dump``), the load generator behind ``fastdhcp bench`` (``bench``), and the lab of
``fastdhcp demo`` (``demo``). Their command lines are in fastdhcp.commands."""
