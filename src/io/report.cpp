#include "io/report.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "io/png_writer.h"
#include "sim/gzip_io.h"

namespace svln::io {
namespace fs = std::filesystem;
namespace {

std::string readText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error(p.string() + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> listFiles(const fs::path& dir, const std::vector<std::string>& exts,
                                   const fs::path& base, const std::string& prefix = "") {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (!prefix.empty() && name.rfind(prefix, 0) != 0) continue;
    const std::string ext = e.path().extension().string();
    if (std::find(exts.begin(), exts.end(), ext) == exts.end()) continue;
    out.push_back(fs::relative(e.path(), base).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

EvalSummary readEval(const fs::path& path, const fs::path& base) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(readText(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path.string() + ": not valid JSON");
  }
  if (!j.is_object()) throw std::runtime_error(path.string() + ": not a JSON object");
  EvalSummary e;
  e.file = fs::relative(path, base).generic_string();
  e.split = j.value("split", std::string());
  if (j.contains("per_episode") && j["per_episode"].is_array())
    e.episodes = static_cast<int>(j["per_episode"].size());
  for (const auto& [k, v] : j.items())
    if (v.is_number()) e.summary[k] = v.get<double>();
  return e;
}

// Which numbers the evaluation table shows, in VLN-CE's usual order.
const std::vector<std::pair<std::string, std::string>>& evalColumns() {
  static const std::vector<std::pair<std::string, std::string>> kCols = {
      {"success_rate", "SR"},         {"spl", "SPL"},         {"navigation_error", "NE"},
      {"oracle_success_rate", "OSR"}, {"ndtw", "nDTW"},       {"sdtw", "SDTW"},
      {"avg_episode_length", "len"},  {"collisions", "coll."}};
  return kCols;
}

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

// JSON inside <script>: "</" would end the element early.
std::string scriptSafe(std::string s) {
  for (size_t p = 0; (p = s.find("</", p)) != std::string::npos; p += 3) s.replace(p, 2, "<\\/");
  return s;
}

const char* kStyle = R"(
body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td.k,td.s{text-align:left}
.charts canvas{border:1px solid #ddd;margin:4px}.gallery{display:flex;flex-wrap:wrap;gap:10px}
.gallery figure{margin:0;font-size:12px}.gallery img,.gallery video{max-width:380px;border:1px solid #ccc}
.empty{color:#888;font-style:italic}
)";

// Draws each curve group on a canvas: axes, 1-2-5 ticks, one line per key. Counts the charts
// whose canvas holds non-white pixels and reports them in body[data-rendered].
const char* kScript = R"(
(function(){
const M=JSON.parse(document.getElementById('metrics-data').textContent);
const G=JSON.parse(document.getElementById('curve-groups').textContent);
const C=['#1f77b4','#ff7f0e','#2ca02c','#d62728','#9467bd','#8c564b'];
function ticks(lo,hi,n){if(!(hi>lo)){const p=Math.abs(lo)>0?Math.abs(lo)*0.1:1;lo-=p;hi+=p;}
 const raw=(hi-lo)/n,mag=Math.pow(10,Math.floor(Math.log10(raw)));let st=mag;
 for(const m of [1,2,5,10]){st=m*mag;if(st>=raw)break;}
 const t=[];for(let v=Math.floor(lo/st+1e-9)*st;v<=hi+st*0.5&&t.length<64;v+=st)t.push(Math.abs(v)<st*1e-9?0:v);
 if(t.length>=2&&t[t.length-1]<hi-st*1e-9)t.push(t[t.length-1]+st);return [t,st];}
function lab(v,st){let d=0;for(let s=st;d<6&&Math.abs(s-Math.round(s))>1e-6*Math.max(1,s);s*=10)d++;return v.toFixed(d);}
let drawn=0;const host=document.getElementById('charts');
for(const g of G){const keys=g.keys.filter(k=>M[k]&&M[k].length);if(!keys.length)continue;
 const cv=document.createElement('canvas');cv.width=480;cv.height=300;cv.className='chart';cv.dataset.title=g.title;host.appendChild(cv);
 const c=cv.getContext('2d');c.fillStyle='#fff';c.fillRect(0,0,480,300);
 let xl=Infinity,xh=-Infinity,yl=Infinity,yh=-Infinity;
 for(const k of keys)for(const [x,y] of M[k]){xl=Math.min(xl,x);xh=Math.max(xh,x);yl=Math.min(yl,y);yh=Math.max(yh,y);}
 if(g.zero){yl=Math.min(yl,0);yh=Math.max(yh,0);}
 const [xt,xs]=ticks(xl,xh,6),[yt,ys]=ticks(yl,yh,5);xl=xt[0];xh=xt[xt.length-1];yl=yt[0];yh=yt[yt.length-1];
 const L=50,R=468,T=28,B=270,X=v=>L+(v-xl)/(xh-xl)*(R-L),Y=v=>B-(v-yl)/(yh-yl)*(B-T);
 c.font='11px sans-serif';c.strokeStyle='#e4e4e4';c.fillStyle='#333';c.lineWidth=1;
 c.textAlign='right';for(const v of yt){c.beginPath();c.moveTo(L,Y(v));c.lineTo(R,Y(v));c.stroke();c.fillText(lab(v,ys),L-4,Y(v)+4);}
 c.textAlign='center';for(const v of xt){c.beginPath();c.moveTo(X(v),T);c.lineTo(X(v),B);c.stroke();c.fillText(lab(v,xs),X(v),B+14);}
 c.fillText('update',(L+R)/2,B+27);c.strokeStyle='#333';c.beginPath();c.moveTo(L,T);c.lineTo(L,B);c.lineTo(R,B);c.stroke();
 c.textAlign='left';c.font='bold 12px sans-serif';c.fillText(g.title,L,16);let lx=L+c.measureText(g.title).width+14;c.font='11px sans-serif';
 keys.forEach((k,i)=>{c.strokeStyle=C[i%C.length];c.lineWidth=2;c.beginPath();
  M[k].forEach(([x,y],j)=>{if(j)c.lineTo(X(x),Y(y));else c.moveTo(X(x),Y(y));});c.stroke();
  if(M[k].length==1){c.fillStyle=C[i%C.length];c.beginPath();c.arc(X(M[k][0][0]),Y(M[k][0][1]),3,0,7);c.fill();}
  c.beginPath();c.moveTo(lx,12);c.lineTo(lx+14,12);c.stroke();c.fillStyle='#333';c.fillText(k,lx+18,16);lx+=c.measureText(k).width+30;});
 const px=c.getImageData(0,0,480,300).data;let ink=0;for(let i=0;i<px.length;i+=4)if(px[i]<200||px[i+1]<200||px[i+2]<200)ink++;
 if(ink>0)drawn++;cv.dataset.ink=ink;}
document.body.setAttribute('data-rendered',String(drawn));
})();
)";

}  // namespace

std::string htmlEscape(const std::string& s);

namespace {

// Videos first (GIFs as images), then maps linked to their full-size PNG.
void galleryFigures(std::ostream& h, const std::vector<std::string>& maps,
                    const std::vector<std::string>& videos) {
  for (const std::string& v : videos) {
    const bool gif = v.size() > 4 && v.compare(v.size() - 4, 4, ".gif") == 0;
    h << "<figure>";
    if (gif)
      h << "<img src=\"" << htmlEscape(v) << "\" alt=\"" << htmlEscape(v) << "\">";
    else
      h << "<video src=\"" << htmlEscape(v) << "\" controls muted preload=\"metadata\"></video>";
    h << "<figcaption>" << htmlEscape(v) << "</figcaption></figure>\n";
  }
  for (const std::string& m : maps)
    h << "<figure><a href=\"" << htmlEscape(m) << "\"><img src=\"" << htmlEscape(m) << "\" alt=\""
      << htmlEscape(m) << "\"></a><figcaption>" << htmlEscape(m) << "</figcaption></figure>\n";
}

}  // namespace

std::string htmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parseTrainingLogConfig(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line;
  bool inside = false;
  // The block is "[time] config:" followed by "  key: value" lines; the last block wins
  // (a resumed run logs it again).
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t c = line.find("config:");
    if (c != std::string::npos && c + 7 == line.size()) {
      out.clear();
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (line.size() < 3 || line[0] != ' ' || line[1] != ' ') {
      inside = false;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(2, colon - 2);
    std::string value = colon + 1 < line.size() ? line.substr(colon + 1) : "";
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    out.emplace_back(key, value);
  }
  return out;
}

ReportInputs collectReportInputs(const std::string& run_dir) {
  const fs::path dir(run_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw std::runtime_error(run_dir + ": not a directory");
  ReportInputs in;
  in.title = fs::absolute(dir).lexically_normal().filename().string();
  if (in.title.empty())
    in.title = fs::absolute(dir).lexically_normal().parent_path().filename().string();

  if (fs::exists(dir / "config.json")) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(readText(dir / "config.json"));
    } catch (const nlohmann::json::exception&) {
      throw std::runtime_error((dir / "config.json").string() + ": not valid JSON");
    }
    if (!j.is_object())
      throw std::runtime_error((dir / "config.json").string() + ": not a JSON object");
    for (const auto& [k, v] : j.items())
      in.config.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  } else if (fs::exists(dir / "training.log")) {
    in.config = parseTrainingLogConfig(readText(dir / "training.log"));
  }
  if (fs::exists(dir / "metrics.jsonl"))
    in.metrics = readMetricsJsonl((dir / "metrics.jsonl").string());

  std::vector<std::string> eval_files = listFiles(dir, {".json"}, dir, "eval");
  for (const std::string& f : listFiles(dir / "eval", {".json"}, dir)) eval_files.push_back(f);
  for (const std::string& f : eval_files) in.evals.push_back(readEval(dir / f, dir));

  in.maps = listFiles(dir / "maps", {".png"}, dir);
  in.videos = listFiles(dir / "videos", {".mp4", ".gif", ".webm"}, dir);
  ec.clear();
  if (fs::is_directory(dir / "visuals", ec)) {
    for (const auto& e : fs::directory_iterator(dir / "visuals", ec)) {
      const std::string name = e.path().filename().string();
      if (!e.is_directory() || name.rfind("update-", 0) != 0) continue;
      VisualSet v;
      try {
        size_t used = 0;
        v.update = std::stoll(name.substr(7), &used);
        if (used != name.size() - 7) continue;
      } catch (const std::exception&) {
        continue;  // not a trainer's folder
      }
      v.maps = listFiles(e.path(), {".png"}, dir);
      v.videos = listFiles(e.path(), {".mp4", ".gif", ".webm"}, dir);
      in.training_visuals.push_back(std::move(v));
    }
    std::sort(in.training_visuals.begin(), in.training_visuals.end(),
              [](const VisualSet& a, const VisualSet& b) { return a.update < b.update; });
  }
  return in;
}

std::string renderReportHtml(const ReportInputs& in) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
    << htmlEscape(in.title) << " - streamvln report</title>\n<style>" << kStyle
    << "</style></head>\n"
    << "<body data-rendered=\"0\">\n<h1>Run report: " << htmlEscape(in.title) << "</h1>\n";

  h << "<h2>Learning curves</h2>\n<div id=\"charts\" class=\"charts\"></div>\n";
  if (in.metrics.empty()) {
    h << "<p class=\"empty\">no metrics.jsonl</p>\n";
  } else {
    // The latest value of every key: what a glance at a running job wants.
    h << "<table id=\"latest\"><tr><th>metric</th><th>update</th><th>latest</th></tr>";
    for (const auto& [k, s] : in.metrics)
      if (!s.y.empty())
        h << "<tr><td class=\"k\">" << htmlEscape(k) << "</td><td>" << fmt(s.x.back(), 0)
          << "</td><td>" << fmt(s.y.back(), 4) << "</td></tr>";
    h << "</table>\n";
  }

  h << "<h2>Evaluation</h2>\n";
  if (in.evals.empty()) {
    h << "<p class=\"empty\">no eval*.json (streamvln eval --out)</p>\n";
  } else {
    h << "<table id=\"eval-table\"><tr><th>file</th><th>split</th><th>episodes</th>";
    for (const auto& [key, label] : evalColumns()) h << "<th>" << label << "</th>";
    h << "</tr>\n";
    for (const EvalSummary& e : in.evals) {
      h << "<tr><td class=\"s\">" << htmlEscape(e.file) << "</td><td class=\"s\">"
        << htmlEscape(e.split) << "</td><td>" << e.episodes << "</td>";
      for (const auto& [key, label] : evalColumns()) {
        auto it = e.summary.find(key);
        const int decimals = key == "navigation_error" || key == "avg_episode_length" ? 2 : 3;
        h << "<td>" << (it == e.summary.end() ? "-" : fmt(it->second, decimals)) << "</td>";
      }
      h << "</tr>\n";
    }
    h << "</table>\n";
  }

  h << "<h2>Episodes</h2>\n<div class=\"gallery\" id=\"gallery\">\n";
  galleryFigures(h, in.maps, in.videos);
  h << "</div>\n";
  if (in.maps.empty() && in.videos.empty()) h << "<p class=\"empty\">no maps/ or videos/</p>\n";

  if (!in.training_visuals.empty()) {
    h << "<h2>Training episodes</h2>\n";
    for (const VisualSet& v : in.training_visuals) {
      h << "<h3>update " << v.update << "</h3>\n<div class=\"gallery\" id=\"visuals-update-"
        << v.update << "\">\n";
      galleryFigures(h, v.maps, v.videos);
      h << "</div>\n";
    }
  }

  h << "<h2>Configuration</h2>\n";
  if (in.config.empty()) {
    h << "<p class=\"empty\">no config.json or config block in training.log</p>\n";
  } else {
    h << "<table id=\"config\">";
    for (const auto& [k, v] : in.config)
      h << "<tr><td class=\"k\">" << htmlEscape(k) << "</td><td class=\"k\">" << htmlEscape(v)
        << "</td></tr>";
    h << "</table>\n";
  }

  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [k, s] : in.metrics) {
    nlohmann::json pts = nlohmann::json::array();
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) pts.push_back({s.x[i], s.y[i]});
    metrics[k] = std::move(pts);
  }
  nlohmann::json groups = nlohmann::json::array();
  for (const CurveGroup& g : curveGroups())
    groups.push_back({{"title", g.title}, {"keys", g.keys}, {"zero", g.y_from_zero}});
  h << "<script type=\"application/json\" id=\"metrics-data\">" << scriptSafe(metrics.dump())
    << "</script>\n<script type=\"application/json\" id=\"curve-groups\">"
    << scriptSafe(groups.dump()) << "</script>\n<script>" << kScript
    << "</script>\n</body></html>\n";
  return h.str();
}

std::string writeRunReport(const std::string& run_dir) {
  const ReportInputs in = collectReportInputs(run_dir);
  const fs::path dir(run_dir);
  if (!in.metrics.empty()) {
    fs::create_directories(dir / "curves");
    for (const auto& [title, png] : learningCurvePngs(in.metrics)) {
      std::string name;
      for (char c : title) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      sim::writeFileAtomic((dir / "curves" / (name + ".png")).string(), png);
    }
  }
  const std::string path = (dir / "report.html").string();
  sim::writeFileAtomic(path, renderReportHtml(in));
  spdlog::info("report: {} ({} metric keys, {} evals, {} maps, {} videos, {} training visual sets)",
               path, in.metrics.size(), in.evals.size(), in.maps.size(), in.videos.size(),
               in.training_visuals.size());
  return path;
}

}  // namespace svln::io
