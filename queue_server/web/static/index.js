// The landing page: links to the clerk console and the supervisor view, in zh / en.
import { lang, setLang, applyI18n } from "./i18n.js";

setLang(lang(), false);
applyI18n();
document.getElementById("lang").addEventListener("click", () => {
  setLang(lang() === "zh" ? "en" : "zh");
  applyI18n();
});
