# perf/chart.gp — draws perf/results/<run>/chart.png from chart.dat (written by
# run.sh). Usage:
#   gnuplot -e "datafile='chart.dat'; outfile='chart.png'; subtitle='…'" perf/chart.gp
if (!exists("datafile")) datafile = 'chart.dat'
if (!exists("outfile")) outfile = 'chart.png'
if (!exists("subtitle")) subtitle = ''

set terminal pngcairo size 1400,1000 font "DejaVu Sans,11" noenhanced
set output outfile
set datafile separator "\t"
set datafile missing "NA"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top vertical
set grid ytics
set xtics nomirror
# run.sh passes nrows (VPNs in the chart); otherwise gnuplot pads the x range.
if (exists("nrows")) set xrange [-0.6:nrows - 0.4]
set multiplot layout 3,1 title "ringvpn perf run — ".subtitle

set title "TCP throughput through the tunnel (iperf3, median; log scale)"
set ylabel "Gbit/s"
set logscale y
set yrange [0.05:*]
plot datafile using 2:xtic(1) title "1 stream A→B" lc rgb "#1f77b4", \
     '' using 3 title "1 stream B→A" lc rgb "#6baed6", \
     '' using 4 title "4 streams A→B" lc rgb "#d62728", \
     '' using 5 title "4 streams B→A" lc rgb "#fc9272"

unset logscale y
set yrange [0:*]
set title "CPU-seconds of the VPN processes per GB moved (lower is better; veth has none)"
set ylabel "CPU s / GB"
# run.sh passes has_cpu=0 when no VPN row has a CPU figure (gnuplot refuses
# to plot a column with no valid points).
if (!exists("has_cpu") || has_cpu) {
	plot datafile using 6:xtic(1) title "TCP 1 stream" lc rgb "#2ca02c", \
	     '' using 7 title "TCP 4 streams" lc rgb "#98df8a"
} else {
	set label 1 "no VPN in this run" at graph 0.5, 0.5 center
	plot [0:1] [0:1] -1 notitle
	unset label 1
}

set title "Highest UDP rate with < 1 % loss (iperf3 -u -b binary search)"
set ylabel "kpps"
plot datafile using 8:xtic(1) title "64-byte payload" lc rgb "#9467bd", \
     '' using 9 title "512-byte payload" lc rgb "#c5b0d5"
unset multiplot
