// desk: issue 17
"use strict";
