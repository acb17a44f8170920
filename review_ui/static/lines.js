// lines: issue 17
"use strict";
