set terminal pngcairo size 1600,1000 font "sans,11"
set output "fleet.png"
set datafile separator ","
set key top right
set grid ytics
set multiplot layout 2,2 title "rotor and Vault Agent fleets on one Vault (2026-12-04, 2 cores)"
unset object
set object 1 rect from 90, graph 0 to 390, graph 1 fillcolor rgb "#e8f0ff" fillstyle solid noborder behind
set object 2 rect from 390, graph 0 to 451, graph 1 fillcolor rgb "#dddddd" fillstyle solid noborder behind
set label 1 "storm peak: 208" at 3, 235 front
set title "rotor, N = 200: requests per second per 100 agents (blue: steady window, grey: Vault stopped)"
set xlabel "seconds since the 200 agents were started"
set ylabel "requests/s per 100 agents"
set yrange [0:247]
set xrange [0:571]
plot "fleet.csv" using 1:(100*column(3)) with steps lw 1.5 lc rgb "#1f6fd0" title "rotor", 23.350 with lines dt 2 lc rgb "black" title "2 x steady rate"
unset object
set object 1 rect from 90, graph 0 to 390, graph 1 fillcolor rgb "#e8f0ff" fillstyle solid noborder behind
set object 2 rect from 390, graph 0 to 450, graph 1 fillcolor rgb "#dddddd" fillstyle solid noborder behind
set label 1 "storm peak: 670" at 3, 235 front
set title "Vault Agent, N = 40: requests per second per 100 agents (blue: steady window, grey: Vault stopped)"
set xlabel "seconds since the 40 agents were started"
set ylabel "requests/s per 100 agents"
set yrange [0:247]
set xrange [0:570]
plot "fleet.csv" using 1:(100*column(5)) with steps lw 1.5 lc rgb "#d0601f" title "Vault Agent", 28.667 with lines dt 2 lc rgb "black" title "2 x steady rate"
unset object
unset label
set title "rotor, N = 200: deploy storm, all agents started at 0 s (% of agents per 100 ms)"
set xlabel "seconds since start"
set ylabel "% of agents per 100 ms"
set yrange [0:*]
set xrange [0:4.2]
set style fill solid 0.5
plot "storm.csv" using ($1/1000):2 with boxes lc rgb "#1f6fd0" title "login", "" using ($1/1000):3 with steps lw 2 lc rgb "black" title "first fetch of a secret"
set title "Vault Agent, N = 40: deploy storm, all agents started at 0 s (% of agents per 100 ms)"
set xlabel "seconds since start"
set ylabel "% of agents per 100 ms"
set yrange [0:*]
set xrange [0:4.2]
set style fill solid 0.5
plot "storm.csv" using ($1/1000):4 with boxes lc rgb "#d0601f" title "login", "" using ($1/1000):5 with steps lw 2 lc rgb "black" title "first fetch of a secret"
unset multiplot
