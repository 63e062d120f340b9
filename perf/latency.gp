# perf/latency.gp — latency under load (ping every PING_MS during one
# saturating TCP stream) of every VPN of a run: histogram and CDF, the
# flent/irtt view. Input: latency.dat from perf/summarize.py; one data block
# per VPN, titled by its "# label" line.
#   gnuplot -e "datafile='latency.dat'; outfile='latency.png'; nsys=7; subtitle='…'" perf/latency.gp
if (!exists("datafile")) datafile = 'latency.dat'
if (!exists("outfile")) outfile = 'latency.png'
if (!exists("subtitle")) subtitle = ''
if (!exists("nsys")) nsys = 1

set terminal pngcairo size 1400,1000 font "DejaVu Sans,11" noenhanced
set output outfile
set datafile separator "\t"
set datafile missing "NaN"
set key outside right top vertical
set grid
set logscale x 10
set xrange [0.01:100]
set format x "%g"
set multiplot layout 2,1 title "Latency under load (ping through the tunnel while one TCP stream saturates it) — ".subtitle

set title "Histogram: share of pings per RTT bin (log-spaced bins)"
set xlabel "RTT, ms (log scale)"
set ylabel "share of pings"
plot for [i=0:nsys-1] datafile index i using 1:2 with linespoints pt 7 ps 0.5 lw 2 \
     title columnheader(1)

set title "CDF: share of pings at or below an RTT (1.0 ms marked)"
set ylabel "cumulative share"
set yrange [0:1]
set arrow 1 from 1.0, graph 0 to 1.0, graph 1 nohead dt 2 lc rgb "#888888"
plot for [i=0:nsys-1] datafile index i using 3:4 with lines lw 2 title columnheader(1)
unset multiplot
