// Parse a calendar with Mozilla's ical.js (Thunderbird's parser) and expand every event
// over a window, as a subscribed client would. Reads .ics on stdin, writes JSON on stdout:
// {"calendar": {...}, "occurrences": [{uid, summary, status, start, end, zone}]} with
// local wall-clock times in the event's zone.
import ICAL from "./vendor/ical.js/ical.mjs";

const [windowStart, windowEnd] = process.argv.slice(2);
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const root = new ICAL.Component(ICAL.parse(input));
  for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(vtimezone);
  }
  const from = ICAL.Time.fromDateTimeString(windowStart);
  const until = ICAL.Time.fromDateTimeString(windowEnd);
  const masters = new Map();
  const exceptions = [];
  for (const vevent of root.getAllSubcomponents("vevent")) {
    const event = new ICAL.Event(vevent);
    if (event.isRecurrenceException()) exceptions.push(event);
    else masters.set(event.uid, event);
  }
  for (const exception of exceptions) {
    const master = masters.get(exception.uid);
    if (!master) throw new Error("override without its series: " + exception.uid);
    master.relateException(exception);
  }
  const local = (time) => time.toString().replace("Z", "");
  const occurrences = [];
  for (const event of masters.values()) {
    const status = event.component.getFirstPropertyValue("status");
    if (!event.isRecurring()) {
      if (event.endDate.compare(from) > 0 && event.startDate.compare(until) < 0) {
        occurrences.push({ uid: event.uid, summary: event.summary, status,
          start: local(event.startDate), end: local(event.endDate),
          zone: event.startDate.zone.tzid, allDay: event.startDate.isDate });
      }
      continue;
    }
    const iterator = event.iterator();
    for (let next = iterator.next(); next; next = iterator.next()) {
      if (next.compare(until) >= 0) break;
      const details = event.getOccurrenceDetails(next);
      if (details.endDate.compare(from) <= 0) continue;
      occurrences.push({ uid: event.uid, summary: details.item.summary,
        status: details.item.component.getFirstPropertyValue("status") || status,
        start: local(details.startDate), end: local(details.endDate),
        zone: details.startDate.zone.tzid, allDay: details.startDate.isDate });
    }
  }
  const calendar = {
    name: root.getFirstPropertyValue("name"),
    xWrCalname: root.getFirstPropertyValue("x-wr-calname"),
    method: root.getFirstPropertyValue("method"),
    uid: root.getFirstPropertyValue("uid"),
    timezones: root.getAllSubcomponents("vtimezone").length,
  };
  process.stdout.write(JSON.stringify({ calendar, occurrences }));
});
