"""Second-generation resident ID card readers (二代身份证阅读器): SAM frame codec and driver.

Only :class:`hardware.idcard.protocol.CardReading` ever leaves this package: a salted hash
of the ID number, the birth date and the validity end. Name, address, ethnic group,
issuing authority and photo are dropped where they are parsed and never logged.
"""
