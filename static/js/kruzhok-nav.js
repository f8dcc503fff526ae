// Menu drop-downs are <details>: they work without this script; it only closes an open one when
// another opens, on a click elsewhere, or on Escape, as a menu is expected to behave.
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.navgroup[open]").forEach((group) => {
    if (!group.contains(event.target)) group.removeAttribute("open");
  });
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  document.querySelectorAll("details.navgroup[open]").forEach((group) => {
    group.removeAttribute("open");
    group.querySelector("summary").focus();
  });
});
