// Tells the server which time zone this browser is in (dashboard/accounts/middleware.py reads
// the cookie): times follow it until the user chooses a zone on their profile page.
"use strict";

(function reportTimeZone() {
  let zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    return;
  }
  // IANA names only (Europe/Berlin, America/Argentina/Buenos_Aires, Etc/GMT+5): nothing a
  // cookie would need quoted.
  if (!zone || !/^[A-Za-z0-9_+\-/]{1,64}$/.test(zone)) return;
  const current = document.cookie.split("; ").find((pair) => pair.startsWith("tz="));
  if (current === "tz=" + zone) return;
  const secure = location.protocol === "https:" ? "; secure" : "";
  document.cookie = "tz=" + zone + "; path=/; max-age=31536000; samesite=lax" + secure;
})();
