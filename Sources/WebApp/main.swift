import WebAppCore
